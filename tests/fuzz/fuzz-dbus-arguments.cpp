// libFuzzer target: the arguments of Acquire, Explain and ListGrants as any client can
// send them, decoded the way wcbrokerd decodes them, driven through the
// broker against a fake device.
//
// The fuzz input picks the device string, BAR, offset, length, access
// string, the caller, and an options dictionary whose keys are known or
// not and whose values are sd-bus variants of any type (booleans, strings,
// integers, doubles, object paths, arrays, nested dictionaries, structs).
// Strings that sd-bus refuses to put in a message (invalid UTF-8) are
// exactly what a client cannot send, and are dropped. The D-Bus wire format
// itself is sd-bus's to parse; everything after it is ours.
//
// Besides "no crash": a grant is always one Explain also allows and lies in
// a range ListGrants lists with the same access, every range ListGrants
// lists is one Explain allows, a lease describes exactly the requested
// range, and no lease outlives the input.

#include "dbus-arguments.hpp"
#include "fake-sysfs.hpp"
#include "fuzz-scratch.hpp"
#include "sysfs-pci-reader.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fuzzer/FuzzedDataProvider.h>

namespace {

namespace fs = std::filesystem;
using namespace wcbroker;

class DiscardAudit final : public AuditLog {
public:
    void record(const AuditRecord&) override {}
};

// One ivshmem-like device on vfio-pci: BAR0 4 KiB, BAR2 1 MiB prefetchable,
// with the PAT list saying write-combining for BAR2, under a fresh root.
std::string make_fake_root()
{
    const fs::path root = wcbroker::fuzz::make_scratch_directory("dbus-arguments");
    const wcbroker::test::FakeSysfs sysfs(root);
    sysfs.add({.address = "0000:00:03.0",
        .resource = wcbroker::test::ivshmem_resource,
        .resource_files = {"resource0", "resource2", "resource2_wc"},
        .resource_file_size = 1 << 20,
        .driver = "vfio-pci",
        .iommu_group = 3});
    sysfs.write("sys/kernel/debug/x86/pat_memtype_list",
        "PAT: [mem 0x00000000fea00000-0x00000000feb00000] write-combining\n"
        "PAT: [mem 0x00000000febd1000-0x00000000febd2000] uncached-minus\n");
    sysfs.write("proc/iomem", "fea00000-feafffff : 0000:00:03.0\nfebd1000-febd1fff : 0000:00:03.0\n");
    sysfs.write("policy/policy.toml", R"(version = 1
[selector.a]
vendor = 0x1af4
[[rule]]
name = "wc"
devices = ["a"]
bar = 2
ranges = [ { offset = 0, length = "512KiB" } ]
access = "write-combine"
users = [1000]
max_leases = 2
[[rule]]
name = "uc"
devices = ["a"]
bar = 2
ranges = [ { offset = "512KiB", length = "512KiB" } ]
access = "uncached"
groups = [2000]
[[rule]]
name = "regs"
devices = ["a"]
bar = 0
ranges = "all"
access = "uncached"
users = [1000]
)");
    return root.string();
}

struct Setup {
    std::string root = make_fake_root();
    DiscardAudit audit;
    DeviceRegistry registry;
    std::unique_ptr<Broker> broker;

    Setup()
    {
        BrokerConfig config;
        config.paths = KernelPaths(root);
        config.policy_sources = policy_sources_in(root + "/policy");
        config.load_options.page_size = 4096;
        broker = std::make_unique<Broker>(config, audit);
        if (!broker->load_initial_policy().applied)
            std::abort();
        registry.apply("0000:00:03.0", read_pci_device(config.paths, "0000:00:03.0"));
        if (registry.size() != 1)
            std::abort();
        broker->attach(registry);
    }
    ~Setup() { fs::remove_all(root); }
};

std::string some_string(FuzzedDataProvider& data, std::initializer_list<const char*> likely)
{
    const std::size_t pick = data.ConsumeIntegralInRange<std::size_t>(0, likely.size());
    if (pick < likely.size())
        return likely.begin()[pick];
    return data.ConsumeRandomLengthString(64);
}

// A variant of a type the input chooses; nullopt when sd-bus refuses the value.
std::optional<sdbus::Variant> some_variant(FuzzedDataProvider& data, int depth)
{
    try {
        switch (data.ConsumeIntegralInRange(0, depth > 2 ? 7 : 9)) {
        case 0: return sdbus::Variant(data.ConsumeBool());
        case 1: return sdbus::Variant(data.ConsumeRandomLengthString(80));
        case 2: return sdbus::Variant(data.ConsumeIntegral<std::uint32_t>());
        case 3: return sdbus::Variant(data.ConsumeIntegral<std::uint64_t>());
        case 4: return sdbus::Variant(data.ConsumeIntegral<std::int32_t>());
        case 5: return sdbus::Variant(data.ConsumeFloatingPoint<double>());
        case 6: return sdbus::Variant(sdbus::ObjectPath(data.ConsumeRandomLengthString(32)));
        case 7: return sdbus::Variant(std::vector<std::string>{data.ConsumeRandomLengthString(16), data.ConsumeRandomLengthString(16)});
        case 8: {
            std::map<std::string, sdbus::Variant> nested;
            for (int i = data.ConsumeIntegralInRange(0, 3); i > 0; --i) {
                if (auto value = some_variant(data, depth + 1))
                    nested.emplace(data.ConsumeRandomLengthString(16), std::move(*value));
            }
            return sdbus::Variant(nested);
        }
        default:
            return sdbus::Variant(sdbus::Struct<std::uint32_t, std::string>(data.ConsumeIntegral<std::uint32_t>(),
                data.ConsumeRandomLengthString(16)));
        }
    } catch (const sdbus::Error&) {
        return std::nullopt; // not a value a client could put on the bus
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    static Setup setup;
    FuzzedDataProvider data(bytes, size);

    const std::string device = some_string(data, {"0000:00:03.0", "0000:00:04.0", "0000:00:03.0 ", "3b:00.0"});
    const auto bar = data.ConsumeBool() ? data.ConsumeIntegralInRange<std::uint32_t>(0, 6) : data.ConsumeIntegral<std::uint32_t>();
    const std::uint64_t offset = data.ConsumeBool() ? data.ConsumeIntegralInRange<std::uint64_t>(0, 300) * 4096
                                                    : data.ConsumeIntegral<std::uint64_t>();
    const std::uint64_t length = data.ConsumeBool() ? data.ConsumeIntegralInRange<std::uint64_t>(0, 300) * 4096
                                                    : data.ConsumeIntegral<std::uint64_t>();
    const std::string access = some_string(data, {"write-combine", "uncached", "wc", "WRITE-COMBINE"});
    std::map<std::string, sdbus::Variant> options;
    for (int i = data.ConsumeIntegralInRange(0, 3); i > 0; --i) {
        std::string key = some_string(data, {"require_verified_wc", "label"});
        if (auto value = some_variant(data, 0))
            options.insert_or_assign(std::move(key), std::move(*value));
    }
    Caller caller;
    caller.bus_name = ":1.42";
    caller.identity.uid = data.PickValueInArray<uid_t>({0, 1000, 1001});
    caller.identity.gids = {caller.identity.uid, data.ConsumeBool() ? 2000u : 2001u};
    caller.identity.pid = 42;

    Broker& broker = *setup.broker;
    const auto explained = broker.explain(caller, request_arguments(device, bar, offset, length, access));
    const auto grants = broker.list_grants(caller, device, bar);
    if (grants) {
        for (const Grant& listed : *grants) {
            const auto allowed = broker.explain(caller, request_arguments(device, bar, listed.range.offset,
                listed.range.length, std::string(access_name(listed.access))));
            if (!allowed || !allowed->allowed)
                std::abort(); // listed a range Explain would not allow
        }
    }
    auto arguments = acquire_arguments(device, bar, offset, length, access, options);
    if (arguments) {
        auto grant = broker.acquire(caller, *arguments);
        if (grant) {
            const Lease& lease = *grant->lease;
            if (!explained || !explained->allowed)
                std::abort(); // granted what Explain would not allow
            const bool listed = grants && std::any_of(grants->begin(), grants->end(), [&](const Grant& g) {
                return g.access == lease.request.access && g.range.contains(offset, length);
            });
            if (!listed)
                std::abort(); // granted what ListGrants does not list
            if (lease.request.offset != offset || lease.request.length != length || lease.request.bar != bar
                || !grant->fd.valid() || lease.owner != caller.bus_name)
                std::abort();
            if (!broker.release(caller, lease.id))
                std::abort();
        }
    }
    broker.client_gone(caller.bus_name);
    if (broker.leases().size() != 0)
        std::abort();
    return 0;
}
