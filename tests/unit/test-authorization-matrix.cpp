// The authorization matrix: one policy whose rules interact, and every
// combination of caller (uid, gids, unit, cgroup), device, BAR, range and
// access from a grid, decided by authorize() -- the daemon's single choke
// point -- and compared with a reference written in this file.
//
// What it pins: authorize(Caller, action::Acquire) allows exactly what the
// rules written in the policy grant, no more and no less; the indexed
// evaluator agrees with the plain scan; every allowing rule a decision names
// really covers the request; and audit mode changes only whether a denial is
// applied, never what the policy says.
//
// Why the reference is written independently: a check that reuses
// matching.cpp or evaluator.cpp would agree with any bug in them. The
// reference below restates docs/policy.md directly: devices as lambdas over
// DeviceFacts (no fnmatch, no selector structs), ranges as (offset, length)
// pairs checked with plain arithmetic, subjects as lists of ids with the
// names already resolved by hand (alice=1000, bob=1001, dpdk=1100; groups
// dpdk=2000, spdk=2100, per FakeNames). It shares nothing with policy/ but
// the input and output types.
//
// Semantics the reference commits to:
// - A request for a BAR the device lacks, or one that does not fit in the
//   BAR, is refused before any rule is looked at (docs/policy.md, "How a
//   decision is made"), in audit mode too: there is nothing to map, so audit
//   mode does not let it through.
// - A range is the byte interval [offset, offset + length); a request is
//   inside a granted range when its whole interval is, and an interval whose
//   end does not fit in 64 bits is inside nothing. Zero lengths and requests
//   that are not whole pages reach the evaluator only from tests (the broker
//   refuses them in RangeMapper::check_range), and are decided by the same
//   arithmetic: a zero-length request at the very end of a range is inside it.
// - A selector naming a driver other than vfio-pci never matches, not even
//   a device bound to that driver (docs/policy.md): the daemon could not
//   serve it. A selector's vfio-pci is compared with the device's driver.
//
// The grid: 6 uids x 5 gid sets x 3 units x 4 cgroups (360 callers), 7
// devices, BARs 0 to 5, about 76 (offset, length) pairs on each BAR a device
// has and 6 on each it lacks, both accesses: 836,640 requests per mode.

#include "authorizer.hpp"
#include "evaluator.hpp"
#include "policy-test-support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace wcbroker::test {
namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t page = 4 * KiB;

// ---------------------------------------------------------------------------
// The policy under test. MODE is replaced by "enforce" or "audit".

const std::string policy_template = R"(version = 1
default = "deny"
mode = "MODE"

[selector.mlx5]
vendor = 0x15b3
device = [0x1017, 0x101b]

[selector.lab]
address = "0000:3b:*.*"

[selector.fn1]
address = "0000:3b:00.1"

[selector.nvme]
class = 0x010800
class_mask = 0xffff00

[selector.mlx5-kernel]
vendor = 0x15b3
driver = "mlx5_core"

# The mlx5 layout: the first pages of BAR 0 uncached to a group, UAR pages
# after them write-combining to one user, BlueFlame pages to a group but only
# from a DPDK service unit.
[[rule]]
name = "mlx5-init-uc"
devices = ["mlx5"]
bar = 0
ranges = [ { offset = 0, length = "8KiB" } ]
access = "uncached"
groups = ["dpdk"]

[[rule]]
name = "mlx5-uar-wc"
devices = ["mlx5"]
bar = 0
ranges = [ { offset = "64KiB", length = "64KiB" }, { offset = "256KiB", length = "128KiB" } ]
access = "write-combine"
users = ["alice"]

[[rule]]
name = "mlx5-bf-service"
devices = ["mlx5"]
bar = 0
ranges = [ { offset = "512KiB", length = "256KiB" } ]
access = "write-combine"
groups = ["dpdk"]
units = ["dpdk-*.service"]

# Two selectors, any may match; only a cgroup names the caller.
[[rule]]
name = "shared-doorbell-uc"
devices = ["mlx5", "nvme"]
bar = 0
ranges = [ { offset = "8KiB", length = "8KiB" } ]
access = "uncached"
cgroups = ["/system.slice/lab.service"]

# By address glob: a user by name AND a cgroup.
[[rule]]
name = "lab-bar0-uc"
devices = ["lab"]
bar = 0
ranges = [ { offset = 0, length = "16KiB" } ]
access = "uncached"
users = ["bob"]
cgroups = ["/system.slice/lab.service"]

# A user that does not resolve matches nobody; the group still does.
[[rule]]
name = "lab-bar2-wc"
devices = ["lab"]
bar = 2
ranges = [ { offset = 0, length = "4KiB" }, { offset = "8KiB", length = "8KiB" } ]
access = "write-combine"
users = ["ghost"]
groups = ["spdk"]

# A whole BAR, by uid.
[[rule]]
name = "lab-bar4-all-uc"
devices = ["lab"]
bar = 4
ranges = "all"
access = "uncached"
users = [1001]

# Only an unresolved user: nobody at all.
[[rule]]
name = "lab-bar4-ghost"
devices = ["lab"]
bar = 4
ranges = [ { offset = 0, length = "4KiB" } ]
access = "uncached"
users = ["ghost"]

# By exact address: a user AND a unit.
[[rule]]
name = "fn1-bar2-wc"
devices = ["fn1"]
bar = 2
ranges = [ { offset = "32KiB", length = "32KiB" } ]
access = "write-combine"
users = ["alice"]
units = ["dpdk-*.service"]

# By class under a mask: (the user named dpdk OR the group spdk) AND a cgroup.
# The user dpdk (1100) is not the group dpdk (2000).
[[rule]]
name = "nvme-cmb-wc"
devices = ["nvme"]
bar = 2
ranges = [ { offset = 0, length = "2MiB" } ]
access = "write-combine"
users = ["dpdk"]
groups = ["spdk"]
cgroups = ["/system.slice/spdk.service"]

# By exact class, inline; groups by number, one of them equal to bob's uid.
[[rule]]
name = "nvme-bar0-uc"
device = { class = 0x010802 }
bar = 0
ranges = "all"
access = "uncached"
groups = [2100, 1001]

# Another driver: never matches, not even the device bound to mlx5_core.
[[rule]]
name = "mlx5-kernel-driver"
devices = ["mlx5-kernel"]
bar = 0
ranges = "all"
access = "write-combine"
users = ["alice", "bob", "dpdk", 4242]
groups = ["dpdk", "spdk"]
)";

std::string policy_text(const std::string& mode)
{
    std::string text = policy_template;
    text.replace(text.find("MODE"), 4, mode);
    return text;
}

// ---------------------------------------------------------------------------
// The reference: the same rules as plain data, and docs/policy.md as code.

struct RefRange {
    std::uint64_t offset;
    std::uint64_t length;
};

struct RefRule {
    std::string name;
    std::function<bool(const DeviceFacts&)> device;
    std::uint32_t bar;
    bool whole_bar;
    std::vector<RefRange> ranges; // unused when whole_bar
    Access access;
    // nullopt: the key is absent. An empty list: present, but nothing in it
    // resolved, so it names nobody.
    std::optional<std::vector<uid_t>> uids;
    std::optional<std::vector<gid_t>> gids;
    std::function<bool(const std::string&)> unit; // null: no units listed
    std::vector<std::string> cgroups;             // empty: none listed
};

bool on_vfio(const DeviceFacts& d)
{
    return d.driver == "vfio-pci";
}

bool has_prefix(const std::string& text, const std::string& prefix)
{
    return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

bool has_suffix(const std::string& text, const std::string& suffix)
{
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "dpdk-*.service"
bool is_dpdk_service(const std::string& unit)
{
    return unit.size() >= 13 && has_prefix(unit, "dpdk-") && has_suffix(unit, ".service");
}

std::vector<RefRule> reference_rules()
{
    auto mlx5 = [](const DeviceFacts& d) {
        return on_vfio(d) && d.vendor_id == 0x15b3 && (d.device_id == 0x1017 || d.device_id == 0x101b);
    };
    // "0000:3b:*.*": the bus 3b prefix, then something with a dot in it.
    auto lab = [](const DeviceFacts& d) {
        return on_vfio(d) && has_prefix(d.address, "0000:3b:") && d.address.find('.', 8) != std::string::npos;
    };
    auto fn1 = [](const DeviceFacts& d) { return on_vfio(d) && d.address == "0000:3b:00.1"; };
    auto nvme = [](const DeviceFacts& d) { return on_vfio(d) && d.class_code / 256 == 0x0108; };
    auto nvme_exact = [](const DeviceFacts& d) { return on_vfio(d) && d.class_code == 0x010802; };
    auto mlx5_kernel = [](const DeviceFacts&) { return false; };
    auto mlx5_or_nvme = [=](const DeviceFacts& d) { return mlx5(d) || nvme(d); };

    using Uids = std::vector<uid_t>;
    using Gids = std::vector<gid_t>;
    const auto wc = Access::WriteCombine;
    const auto uc = Access::Uncached;
    const auto none_u = std::optional<Uids>{};
    const auto none_g = std::optional<Gids>{};
    return {
        {"mlx5-init-uc", mlx5, 0, false, {{0, 8 * KiB}}, uc, none_u, Gids{2000}, nullptr, {}},
        {"mlx5-uar-wc", mlx5, 0, false, {{64 * KiB, 64 * KiB}, {256 * KiB, 128 * KiB}}, wc, Uids{1000}, none_g,
            nullptr, {}},
        {"mlx5-bf-service", mlx5, 0, false, {{512 * KiB, 256 * KiB}}, wc, none_u, Gids{2000}, is_dpdk_service, {}},
        {"shared-doorbell-uc", mlx5_or_nvme, 0, false, {{8 * KiB, 8 * KiB}}, uc, none_u, none_g, nullptr,
            {"/system.slice/lab.service"}},
        {"lab-bar0-uc", lab, 0, false, {{0, 16 * KiB}}, uc, Uids{1001}, none_g, nullptr, {"/system.slice/lab.service"}},
        {"lab-bar2-wc", lab, 2, false, {{0, 4 * KiB}, {8 * KiB, 8 * KiB}}, wc, Uids{}, Gids{2100}, nullptr, {}},
        {"lab-bar4-all-uc", lab, 4, true, {}, uc, Uids{1001}, none_g, nullptr, {}},
        {"lab-bar4-ghost", lab, 4, false, {{0, 4 * KiB}}, uc, Uids{}, none_g, nullptr, {}},
        {"fn1-bar2-wc", fn1, 2, false, {{32 * KiB, 32 * KiB}}, wc, Uids{1000}, none_g, is_dpdk_service, {}},
        {"nvme-cmb-wc", nvme, 2, false, {{0, 2 * MiB}}, wc, Uids{1100}, Gids{2100}, nullptr,
            {"/system.slice/spdk.service"}},
        {"nvme-bar0-uc", nvme_exact, 0, true, {}, uc, none_u, Gids{2100, 1001}, nullptr, {}},
        {"mlx5-kernel-driver", mlx5_kernel, 0, true, {}, wc, Uids{1000, 1001, 1100, 4242}, Gids{2000, 2100}, nullptr,
            {}},
    };
}

// [offset, offset + length) lies inside [start, start + size). A request
// whose end does not fit in 64 bits lies inside nothing.
bool lies_within(std::uint64_t offset, std::uint64_t length, std::uint64_t start, std::uint64_t size)
{
    if (length > std::numeric_limits<std::uint64_t>::max() - offset)
        return false;
    return start <= offset && offset + length <= start + size;
}

template <typename T>
bool member(const std::vector<T>& list, T value)
{
    return std::find(list.begin(), list.end(), value) != list.end();
}

// "/a/b" is under "/a/b" and "/a", not under "/a/bc".
bool under_cgroup(const std::string& cgroup, const std::string& prefix)
{
    return cgroup == prefix || has_prefix(cgroup, prefix + "/");
}

const BarFacts* find_bar(const DeviceFacts& device, std::uint32_t index)
{
    for (const BarFacts& bar : device.bars) {
        if (bar.index == index)
            return &bar;
    }
    return nullptr;
}

bool reference_request_fits(const DeviceFacts& device, const AccessRequest& request)
{
    const BarFacts* bar = find_bar(device, request.bar);
    return bar != nullptr && lies_within(request.offset, request.length, 0, bar->size);
}

bool reference_subject(const RefRule& rule, const CallerIdentity& caller)
{
    if (rule.uids || rule.gids) {
        bool named = rule.uids && member(*rule.uids, caller.uid);
        for (gid_t gid : caller.gids)
            named = named || (rule.gids && member(*rule.gids, gid));
        if (!named)
            return false;
    }
    if (rule.unit && !(caller.systemd_unit && rule.unit(*caller.systemd_unit)))
        return false;
    if (!rule.cgroups.empty()) {
        if (!caller.cgroup)
            return false;
        bool under_one = false;
        for (const std::string& prefix : rule.cgroups)
            under_one = under_one || under_cgroup(*caller.cgroup, prefix);
        if (!under_one)
            return false;
    }
    return true;
}

// Whether this one rule grants the request. (Whether the request fits in its
// BAR at all is reference_request_fits's business.)
bool reference_rule_allows(const RefRule& rule, const CallerIdentity& caller, const DeviceFacts& device,
    const AccessRequest& request)
{
    if (!rule.device(device) || rule.bar != request.bar || rule.access != request.access)
        return false;
    const BarFacts* bar = find_bar(device, request.bar);
    if (bar == nullptr)
        return false;
    bool inside = false;
    if (rule.whole_bar) {
        inside = lies_within(request.offset, request.length, 0, bar->size);
    } else {
        for (const RefRange& range : rule.ranges)
            inside = inside || lies_within(request.offset, request.length, range.offset, range.length);
    }
    return inside && reference_subject(rule, caller);
}

// Names of every rule that grants the request, in policy order.
std::vector<std::string> reference_allowing(const std::vector<RefRule>& rules, const CallerIdentity& caller,
    const DeviceFacts& device, const AccessRequest& request)
{
    std::vector<std::string> names;
    if (!reference_request_fits(device, request))
        return names;
    for (const RefRule& rule : rules) {
        if (reference_rule_allows(rule, caller, device, request))
            names.push_back(rule.name);
    }
    return names;
}

bool reference_allows(const std::vector<RefRule>& rules, const CallerIdentity& caller, const DeviceFacts& device,
    const AccessRequest& request)
{
    return !reference_allowing(rules, caller, device, request).empty();
}

// ---------------------------------------------------------------------------
// The grid.

BarFacts make_bar(std::uint32_t index, std::uint64_t size, bool prefetchable)
{
    BarFacts bar;
    bar.index = index;
    bar.size = size;
    bar.kind = BarKind::Memory64;
    bar.prefetchable = prefetchable;
    bar.has_uc_file = true;
    bar.has_wc_file = prefetchable;
    return bar;
}

DeviceFacts make_device(std::string address, std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code,
    std::string driver, std::vector<BarFacts> bars)
{
    DeviceFacts facts;
    facts.address = std::move(address);
    facts.vendor_id = vendor;
    facts.device_id = device;
    facts.subsystem_vendor_id = vendor;
    facts.subsystem_device_id = 0x0001;
    facts.class_code = class_code;
    facts.driver = std::move(driver);
    facts.iommu_group = 12;
    facts.bars = std::move(bars);
    return facts;
}

std::vector<DeviceFacts> grid_devices()
{
    return {
        // mlx5 ids and in the lab: BAR 0 and BAR 4, no BAR 2.
        make_device("0000:3b:00.0", 0x15b3, 0x1017, 0x020000, "vfio-pci",
            {make_bar(0, 1 * MiB, true), make_bar(4, 16 * KiB, false)}),
        // In the lab by address, but a device id the mlx5 selector lacks.
        make_device("0000:3b:00.1", 0x15b3, 0x1019, 0x020000, "vfio-pci",
            {make_bar(0, 1 * MiB, true), make_bar(2, 64 * KiB, true), make_bar(4, 8 * KiB, false)}),
        // mlx5 ids, not in the lab, and a BAR 0 smaller than the BlueFlame range.
        make_device("0000:5e:00.0", 0x15b3, 0x101b, 0x020000, "vfio-pci", {make_bar(0, 512 * KiB, true)}),
        // mlx5 ids at a lab address, bound to the kernel driver.
        make_device("0000:3b:00.2", 0x15b3, 0x1017, 0x020000, "mlx5_core", {make_bar(0, 1 * MiB, true)}),
        // NVMe: both class selectors.
        make_device("0000:81:00.0", 0x144d, 0xa808, 0x010802, "vfio-pci",
            {make_bar(0, 16 * KiB, false), make_bar(2, 4 * MiB, true)}),
        // Same base class and subclass, another prog-if: only the masked selector;
        // its BAR 2 is smaller than the CMB rule's range.
        make_device("0000:82:00.0", 0x1e0f, 0x0007, 0x010803, "vfio-pci",
            {make_bar(0, 16 * KiB, false), make_bar(2, 1 * MiB, true)}),
        // SATA: class 0x0106, matches nothing.
        make_device("0000:00:17.0", 0x8086, 0xa352, 0x010601, "vfio-pci",
            {make_bar(0, 16 * KiB, false), make_bar(5, 8 * KiB, false)}),
    };
}

std::vector<CallerIdentity> grid_callers()
{
    // 2000 is a uid equal to a gid the policy names: a rule for the group
    // must not take it for a user.
    const std::vector<uid_t> uids{0, 1000, 1001, 1100, 2000, 4242};
    const std::vector<std::vector<gid_t>> supplementary{{}, {2000}, {2100}, {2000, 2100}};
    const std::vector<std::optional<std::string>> units{
        std::nullopt, "dpdk-rx.service", "dpdk-rx.socket"};
    const std::vector<std::optional<std::string>> cgroups{std::nullopt, "/system.slice/spdk.service/worker",
        "/system.slice/spdk.service2", "/system.slice/lab.service"};
    std::vector<CallerIdentity> callers;
    for (uid_t uid : uids) {
        // The primary gid is each user's own group (root's is 0), as the bus
        // reports it among the gids; once also with no gids at all.
        std::vector<std::vector<gid_t>> gid_sets;
        for (const auto& extra : supplementary) {
            std::vector<gid_t> gids{static_cast<gid_t>(uid)};
            gids.insert(gids.end(), extra.begin(), extra.end());
            gid_sets.push_back(gids);
        }
        gid_sets.push_back({});
        for (const auto& gids : gid_sets) {
            for (const auto& unit : units) {
                for (const auto& cgroup : cgroups)
                    callers.push_back({uid, gids, 4000 + static_cast<pid_t>(uid), unit, cgroup});
            }
        }
    }
    return callers;
}

// (offset, length) pairs around every range boundary of the policy and every
// BAR size of the devices: the page before, the page at, a request straddling
// it; each range exactly and grown by a page at either end; zero lengths,
// sub-page requests, and ends that overflow 64 bits.
std::vector<RefRange> grid_ranges()
{
    std::set<std::pair<std::uint64_t, std::uint64_t>> pairs;
    const std::vector<std::uint64_t> boundaries{0, 4 * KiB, 8 * KiB, 16 * KiB, 32 * KiB, 64 * KiB, 128 * KiB,
        256 * KiB, 384 * KiB, 512 * KiB, 768 * KiB, 1 * MiB, 2 * MiB, 4 * MiB};
    for (std::uint64_t b : boundaries) {
        pairs.insert({b, page});
        if (b >= page) {
            pairs.insert({b - page, page});
            pairs.insert({b - page, 2 * page});
        }
    }
    const std::vector<RefRange> exact{{0, 8 * KiB}, {8 * KiB, 8 * KiB}, {0, 16 * KiB}, {64 * KiB, 64 * KiB},
        {256 * KiB, 128 * KiB}, {512 * KiB, 256 * KiB}, {32 * KiB, 32 * KiB}, {0, 64 * KiB}, {0, 2 * MiB},
        {0, 512 * KiB}, {0, 1 * MiB}, {0, 4 * MiB}};
    for (const RefRange& r : exact) {
        pairs.insert({r.offset, r.length});
        pairs.insert({r.offset, r.length + page});
        if (r.offset >= page)
            pairs.insert({r.offset - page, r.length + page});
    }
    // Zero lengths: at a range's start, at its end, and past the BAR.
    for (std::uint64_t offset : {std::uint64_t{0}, 4 * KiB, 128 * KiB, 1 * MiB, 8 * MiB})
        pairs.insert({offset, 0});
    // Not whole pages: the last byte of a range, and one byte across its end.
    pairs.insert({128 * KiB - 1, 1});
    pairs.insert({128 * KiB - 1, 2});
    pairs.insert({64 * KiB + 1, page});
    // The end wraps around 2^64; a careless sum would land inside the BAR.
    const std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
    pairs.insert({top - page + 1, 2 * page});
    pairs.insert({64 * KiB, top - 32 * KiB});
    std::vector<RefRange> ranges;
    for (const auto& [offset, length] : pairs)
        ranges.push_back({offset, length});
    return ranges;
}

// ---------------------------------------------------------------------------
// Running it.

std::string describe(const CallerIdentity& caller)
{
    std::ostringstream out;
    out << "uid " << caller.uid << " gids [";
    for (std::size_t i = 0; i < caller.gids.size(); ++i)
        out << (i ? "," : "") << caller.gids[i];
    out << "] unit " << caller.systemd_unit.value_or("(none)") << " cgroup " << caller.cgroup.value_or("(none)");
    return out.str();
}

std::string describe(const DeviceFacts& device, const AccessRequest& request)
{
    std::ostringstream out;
    out << device.address << " (" << std::hex << device.vendor_id << ":" << device.device_id << " class "
        << device.class_code << ", " << device.driver << ") BAR " << std::dec << request.bar << " offset 0x"
        << std::hex << request.offset << " length 0x" << request.length << std::dec << " "
        << access_name(request.access);
    return out.str();
}

std::string join(const std::vector<std::string>& names)
{
    std::string out;
    for (const std::string& name : names)
        out += (out.empty() ? "" : ", ") + name;
    return "[" + out + "]";
}

struct MatrixResult {
    std::size_t cases = 0;
    std::size_t allowed = 0;                // by the reference
    std::size_t disagreements = 0;          // authorize() vs the reference
    std::size_t grants_outside_policy = 0;  // authorize() allowed, the reference denies
    std::size_t index_scan_disagreements = 0;
    std::size_t bad_allowing_rules = 0;     // an allowing rule that does not cover the request
    std::size_t audit_not_granted = 0;      // audit mode: a fitting request that was not granted
    std::size_t audit_unfit_granted = 0;    // audit mode: granted though it does not fit
    std::vector<std::string> reports;       // the first few, in full
};

// One pass over the grid. In enforce mode authorize() must say what the
// reference says; in audit mode the decision must still say it, while every
// request that fits in its BAR is granted.
MatrixResult run_matrix(const Policy& policy, const std::vector<RefRule>& rules, bool audit)
{
    const std::vector<CallerIdentity> callers = grid_callers();
    const std::vector<DeviceFacts> devices = grid_devices();
    const std::vector<RefRange> ranges = grid_ranges();
    // A BAR the device lacks is refused before any rule is looked at: a few
    // ranges, some of which rules would grant on a device that has it, say
    // as much as all of them.
    const std::vector<RefRange> absent_bar_ranges{{0, 0}, {0, page}, {0, 16 * KiB}, {8 * KiB, 8 * KiB},
        {64 * KiB, 64 * KiB}, {32 * KiB, 32 * KiB}};
    const std::size_t max_reports = 5;

    MatrixResult result;
    auto report = [&](const std::string& what, const CallerIdentity& caller, const DeviceFacts& device,
                      const AccessRequest& request, const std::vector<std::string>& expected, const Decision& got) {
        if (result.reports.size() >= max_reports)
            return;
        std::vector<std::string> got_names;
        for (const Rule* rule : got.allowing_rules)
            got_names.push_back(rule->name);
        std::ostringstream out;
        out << what << "\n  caller:   " << describe(caller) << "\n  request:  " << describe(device, request)
            << "\n  expected: " << (expected.empty() ? "deny" : "allow by " + join(expected))
            << "\n  got:      " << (got.allowed ? "allow by " + join(got_names) : "deny")
            << (got.granted() ? " (granted)" : " (not granted)")
            << "\n  explain:  " << explain(policy, got, device, caller, request).reason;
        result.reports.push_back(out.str());
    };

    for (const CallerIdentity& identity : callers) {
        const Caller caller{":1.42", identity};
        for (const DeviceFacts& device : devices) {
            for (std::uint32_t bar = 0; bar <= 5; ++bar) {
                for (const RefRange& range : find_bar(device, bar) ? ranges : absent_bar_ranges) {
                    for (Access access : {Access::WriteCombine, Access::Uncached}) {
                        const AccessRequest request{bar, range.offset, range.length, access};
                        ++result.cases;
                        const std::vector<std::string> expected = reference_allowing(rules, identity, device, request);
                        const bool expect_allowed = !expected.empty();
                        const bool fits = reference_request_fits(device, request);
                        if (expect_allowed)
                            ++result.allowed;

                        const Verdict verdict = authorize(caller, action::Acquire{&policy, &device, request});
                        if (!verdict.policy) {
                            ++result.disagreements;
                            report("authorize() returned no decision", identity, device, request, expected, {});
                            continue;
                        }
                        const Decision& decision = *verdict.policy;

                        // What the policy says, in either mode.
                        bool wrong = decision.allowed != expect_allowed;
                        if (audit) {
                            // Requests that do not fit are refused before any
                            // rule, in audit mode as well.
                            if (!fits && verdict.allowed) {
                                ++result.audit_unfit_granted;
                                report("audit mode granted a request that does not fit its BAR", identity, device,
                                    request, expected, decision);
                            }
                            if (fits && !verdict.allowed) {
                                ++result.audit_not_granted;
                                report("audit mode did not grant a request that fits its BAR", identity, device,
                                    request, expected, decision);
                            }
                            wrong = wrong || decision.enforced || verdict.allowed != decision.granted();
                        } else {
                            wrong = wrong || verdict.allowed != expect_allowed || !decision.enforced;
                            if (verdict.allowed && !expect_allowed)
                                ++result.grants_outside_policy;
                        }
                        if (wrong) {
                            ++result.disagreements;
                            report(audit ? "audit-mode decision disagrees with the reference"
                                         : "authorize() disagrees with the reference",
                                identity, device, request, expected, decision);
                        }

                        // The allowing rules, by name and in order, and each
                        // one's own parameters.
                        std::vector<std::string> got_names;
                        bool rules_cover = true;
                        for (const Rule* rule : decision.allowing_rules) {
                            got_names.push_back(rule->name);
                            bool inside = rule->whole_bar;
                            for (const ByteRange& r : rule->ranges)
                                inside = inside || lies_within(request.offset, request.length, r.offset, r.length);
                            const auto ref = std::find_if(
                                rules.begin(), rules.end(), [&](const RefRule& r) { return r.name == rule->name; });
                            rules_cover = rules_cover && rule->bar == request.bar && rule->access == request.access
                                && inside && ref != rules.end()
                                && reference_rule_allows(*ref, identity, device, request);
                        }
                        if (decision.allowed && (decision.rule() == nullptr || !rules_cover || got_names != expected)) {
                            ++result.bad_allowing_rules;
                            report("the allowing rules are not the ones that cover the request", identity, device,
                                request, expected, decision);
                        }

                        // The index against the plain scan.
                        const Decision scanned = evaluate_by_scan(policy, device, identity, request);
                        if (scanned.allowed != decision.allowed || scanned.refusal != decision.refusal
                            || scanned.allowing_rules != decision.allowing_rules) {
                            ++result.index_scan_disagreements;
                            report("evaluate() and evaluate_by_scan() disagree", identity, device, request, expected,
                                scanned);
                        }
                    }
                }
            }
        }
    }
    return result;
}

void print_summary(const char* mode, const MatrixResult& result, double seconds)
{
    std::printf("[matrix] %s: %zu cases (%zu allowed by the reference), %zu disagreement(s), %zu grant(s) outside "
                "the policy, %zu index/scan disagreement(s), %zu bad allowing rule(s), %.2f s\n",
        mode, result.cases, result.allowed, result.disagreements, result.grants_outside_policy,
        result.index_scan_disagreements, result.bad_allowing_rules, seconds);
    for (const std::string& text : result.reports)
        std::printf("%s\n", text.c_str());
}

std::shared_ptr<const Policy> load_matrix_policy(const std::string& mode)
{
    // Unknown names are warnings, as in the daemon: "ghost" resolves to no one.
    const LoadResult loaded = load_text(policy_text(mode), false);
    EXPECT_NE(loaded.policy, nullptr) << ::testing::PrintToString(rendered(loaded));
    return loaded.policy;
}

// The reference must describe the same rules, in the same order.
void expect_same_rule_names(const Policy& policy, const std::vector<RefRule>& rules)
{
    std::vector<std::string> loaded, reference;
    for (const Rule& rule : policy.rules)
        loaded.push_back(rule.name);
    for (const RefRule& rule : rules)
        reference.push_back(rule.name);
    EXPECT_EQ(loaded, reference);
}

TEST(AuthorizationMatrix, EnforceModeGrantsExactlyWhatTheRulesSay)
{
    const auto policy = load_matrix_policy("enforce");
    ASSERT_NE(policy, nullptr);
    ASSERT_EQ(policy->mode, EnforcementMode::Enforce);
    const std::vector<RefRule> rules = reference_rules();
    expect_same_rule_names(*policy, rules);

    const auto start = std::chrono::steady_clock::now();
    const MatrixResult result = run_matrix(*policy, rules, false);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    print_summary("enforce", result, took.count());

    EXPECT_GE(result.cases, 10000u);
    // A grid in which nothing or everything is allowed checks little.
    EXPECT_GT(result.allowed, 500u);
    EXPECT_LT(result.allowed, result.cases / 4);
    EXPECT_EQ(result.disagreements, 0u);
    EXPECT_EQ(result.grants_outside_policy, 0u);
    EXPECT_EQ(result.index_scan_disagreements, 0u);
    EXPECT_EQ(result.bad_allowing_rules, 0u);
}

TEST(AuthorizationMatrix, AuditModeGrantsButStillDecidesTheSame)
{
    const auto policy = load_matrix_policy("audit");
    ASSERT_NE(policy, nullptr);
    ASSERT_EQ(policy->mode, EnforcementMode::Audit);
    const std::vector<RefRule> rules = reference_rules();

    const auto start = std::chrono::steady_clock::now();
    const MatrixResult result = run_matrix(*policy, rules, true);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    print_summary("audit", result, took.count());

    EXPECT_GE(result.cases, 10000u);
    EXPECT_EQ(result.disagreements, 0u);
    EXPECT_EQ(result.audit_not_granted, 0u);
    EXPECT_EQ(result.audit_unfit_granted, 0u);
    EXPECT_EQ(result.index_scan_disagreements, 0u);
    EXPECT_EQ(result.bad_allowing_rules, 0u);
}

// Regression: the loader memoised name lookups by the id's C++ type, and
// uid_t is gid_t, so whichever of the user "dpdk" (1100) and the group "dpdk"
// (2000) came first gave its id to the other. The matrix caught it as
// uid 1100 being refused by rules that name the user dpdk.
TEST(AuthorizationMatrix, AUserAndAGroupMayShareAName)
{
    for (bool group_first : {true, false}) {
        const std::string group_rule = R"(
[[rule]]
name = "by-group"
device = { vendor = 0x8086 }
bar = 2
ranges = [ { offset = 0, length = "4KiB" } ]
access = "write-combine"
groups = ["dpdk"]
)";
        const std::string user_rule = R"(
[[rule]]
name = "by-user"
device = { vendor = 0x8086 }
bar = 2
ranges = [ { offset = "4KiB", length = "4KiB" } ]
access = "write-combine"
users = ["dpdk"]
)";
        const LoadResult loaded =
            load_text("version = 1\n" + (group_first ? group_rule + user_rule : user_rule + group_rule));
        ASSERT_NE(loaded.policy, nullptr) << ::testing::PrintToString(rendered(loaded));
        const Rule* by_group = loaded.policy->find_rule("by-group");
        const Rule* by_user = loaded.policy->find_rule("by-user");
        ASSERT_TRUE(by_group != nullptr && by_user != nullptr);
        EXPECT_EQ(by_group->groups.at(0).gid, std::optional<gid_t>(2000)) << "group first: " << group_first;
        EXPECT_EQ(by_user->users.at(0).uid, std::optional<uid_t>(1100)) << "group first: " << group_first;

        const DeviceFacts facts = nic_facts();
        const CallerIdentity user_dpdk{1100, {1100}, 1, {}, {}};
        const CallerIdentity uid_2000{2000, {100}, 1, {}, {}};
        const AccessRequest user_page{2, 4 * KiB, 4 * KiB, Access::WriteCombine};
        EXPECT_TRUE(authorize({":1.1", user_dpdk}, action::Acquire{loaded.policy.get(), &facts, user_page}).allowed);
        EXPECT_FALSE(authorize({":1.2", uid_2000}, action::Acquire{loaded.policy.get(), &facts, user_page}).allowed);
    }
}

// A few cells of the grid spelled out, so that a reader can see the reference
// says what the comments in the policy say (and so a reference that has gone
// wrong in the same way as the evaluator has a chance of being noticed).
TEST(AuthorizationMatrix, TheReferenceSaysWhatThePolicyMeans)
{
    const std::vector<RefRule> rules = reference_rules();
    const std::vector<DeviceFacts> devices = grid_devices();
    const DeviceFacts& mlx5 = devices[0];
    const DeviceFacts& fn1 = devices[1];
    const DeviceFacts& kernel = devices[3];
    const DeviceFacts& nvme = devices[4];
    const DeviceFacts& nvme_other = devices[5];
    auto who = [](uid_t uid, std::vector<gid_t> gids, std::optional<std::string> unit = std::nullopt,
                   std::optional<std::string> cgroup = std::nullopt) {
        return CallerIdentity{uid, std::move(gids), 1, std::move(unit), std::move(cgroup)};
    };
    const auto wc = Access::WriteCombine;
    const auto uc = Access::Uncached;

    // mlx5: alice's UAR pages, and not one page past them.
    EXPECT_TRUE(reference_allows(rules, who(1000, {1000}), mlx5, {0, 64 * KiB, 64 * KiB, wc}));
    EXPECT_FALSE(reference_allows(rules, who(1000, {1000}), mlx5, {0, 64 * KiB, 68 * KiB, wc}));
    // Two granted ranges do not make one: [64K,128K) and [256K,384K) leave a gap.
    EXPECT_FALSE(reference_allows(rules, who(1000, {1000}), mlx5, {0, 124 * KiB, 136 * KiB, wc}));
    // The init pages are uncached for the dpdk group, never write-combining.
    EXPECT_TRUE(reference_allows(rules, who(1100, {1100, 2000}), mlx5, {0, 0, 8 * KiB, uc}));
    EXPECT_FALSE(reference_allows(rules, who(1100, {1100, 2000}), mlx5, {0, 0, 8 * KiB, wc}));
    // BlueFlame needs the group AND the unit.
    EXPECT_FALSE(reference_allows(rules, who(1100, {1100, 2000}), mlx5, {0, 512 * KiB, page, wc}));
    EXPECT_FALSE(reference_allows(rules, who(1100, {1100}, "dpdk-rx.service"), mlx5, {0, 512 * KiB, page, wc}));
    EXPECT_TRUE(reference_allows(rules, who(1100, {1100, 2000}, "dpdk-rx.service"), mlx5, {0, 512 * KiB, page, wc}));
    EXPECT_FALSE(reference_allows(rules, who(1100, {1100, 2000}, "dpdk-rx.socket"), mlx5, {0, 512 * KiB, page, wc}));
    // The user named dpdk is not the group named dpdk.
    EXPECT_FALSE(reference_allows(rules, who(1100, {1100}), mlx5, {0, 0, 8 * KiB, uc}));
    // cgroups on '/' boundaries.
    EXPECT_TRUE(reference_allows(rules, who(4242, {}, {}, "/system.slice/lab.service"), mlx5, {0, 8 * KiB, page, uc}));
    EXPECT_FALSE(reference_allows(rules, who(4242, {}, {}, "/system.slice/lab.service2"), mlx5, {0, 8 * KiB, page, uc}));
    // A whole-BAR rule ends where the BAR does.
    EXPECT_TRUE(reference_allows(rules, who(1001, {1001}), mlx5, {4, 0, 16 * KiB, uc}));
    EXPECT_FALSE(reference_allows(rules, who(1001, {1001}), fn1, {4, 0, 16 * KiB, uc}));
    // The unresolved "ghost" names nobody; the group beside it still counts.
    EXPECT_FALSE(reference_allows(rules, who(4242, {4242}), fn1, {4, 0, page, uc}));
    EXPECT_TRUE(reference_allows(rules, who(4242, {2100}), fn1, {2, 0, page, wc}));
    // mlx5 has no BAR 2 even though the lab has rules for one.
    EXPECT_FALSE(reference_allows(rules, who(4242, {2100}), mlx5, {2, 0, page, wc}));
    // Groups by number: bob's own group 1001 (not his uid) opens NVMe BAR 0.
    EXPECT_TRUE(reference_allows(rules, who(1001, {1001}), nvme, {0, 0, 16 * KiB, uc}));
    EXPECT_FALSE(reference_allows(rules, who(1001, {}), nvme, {0, 0, 16 * KiB, uc}));
    // The masked class selector takes prog-if 03; the exact one does not.
    const auto spdk = who(1100, {1100}, {}, "/system.slice/spdk.service/worker");
    EXPECT_TRUE(reference_allows(rules, spdk, nvme_other, {2, 0, page, wc}));
    EXPECT_FALSE(reference_allows(rules, who(1001, {1001, 2100}), nvme_other, {0, 0, page, uc}));
    // The CMB range is 2 MiB, and this BAR only 1 MiB.
    EXPECT_TRUE(reference_allows(rules, spdk, nvme_other, {2, 0, 1 * MiB, wc}));
    EXPECT_FALSE(reference_allows(rules, spdk, nvme_other, {2, 0, 2 * MiB, wc}));
    EXPECT_TRUE(reference_allows(rules, spdk, nvme, {2, 0, 2 * MiB, wc}));
    // fn1: alice AND a dpdk unit.
    EXPECT_TRUE(reference_allows(rules, who(1000, {1000}, "dpdk-tx.service"), fn1, {2, 32 * KiB, 32 * KiB, wc}));
    EXPECT_FALSE(reference_allows(rules, who(1000, {1000}), fn1, {2, 32 * KiB, 32 * KiB, wc}));
    // The selector naming mlx5_core matches nothing, not even a device bound to it.
    EXPECT_FALSE(reference_allows(rules, who(1000, {1000}), mlx5, {0, 0, page, wc}));
    EXPECT_FALSE(reference_allows(rules, who(1000, {1000}), kernel, {0, 0, page, wc}));
    EXPECT_FALSE(reference_allows(rules, who(1001, {1001}), kernel, {4, 0, page, uc}));
    // A wrapping end lies inside nothing.
    EXPECT_FALSE(reference_allows(rules, who(1001, {1001}), mlx5,
        {4, std::numeric_limits<std::uint64_t>::max() - page + 1, 2 * page, uc}));
}

} // namespace
} // namespace wcbroker::test
