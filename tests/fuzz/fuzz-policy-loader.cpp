// libFuzzer target: arbitrary bytes as a policy file, then as a drop-in after
// a known-good main file, then a decision on whatever loaded. Any crash,
// sanitizer report or a policy that loads with errors is a finding.

#include "evaluator.hpp"
#include "policy-loader.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

class NoNames final : public wcbroker::NameResolver {
public:
    std::optional<uid_t> user_id(const std::string& name) const override
    {
        return name == "alice" ? std::optional<uid_t>(1000) : std::nullopt;
    }
    std::optional<gid_t> group_id(const std::string& name) const override
    {
        return name == "dpdk" ? std::optional<gid_t>(2000) : std::nullopt;
    }
};

const std::string main_policy = "version = 1\n[selector.nic]\nvendor = 0x8086\n";

wcbroker::DeviceFacts fuzz_device()
{
    wcbroker::DeviceFacts facts;
    facts.address = "0000:3b:00.0";
    facts.vendor_id = 0x8086;
    facts.driver = "vfio-pci";
    wcbroker::BarFacts bar;
    bar.index = 2;
    bar.size = 1 << 20;
    bar.prefetchable = true;
    facts.bars = {bar};
    return facts;
}

void decide_on(const wcbroker::LoadResult& result)
{
    if (!result.policy) {
        if (!result.diagnostics.has_errors())
            std::abort(); // a refused policy must say why
        return;
    }
    if (result.diagnostics.has_errors())
        std::abort(); // errors must refuse the policy
    static const wcbroker::DeviceFacts facts = fuzz_device();
    for (wcbroker::Access access : {wcbroker::Access::WriteCombine, wcbroker::Access::Uncached}) {
        const wcbroker::CallerIdentity caller{1000, {2000}, 1, std::string("x.service"), std::string("/system.slice")};
        const wcbroker::AccessRequest request{2, 0, 4096, access};
        const wcbroker::Decision a = wcbroker::evaluate(*result.policy, facts, caller, request);
        const wcbroker::Decision b = wcbroker::evaluate_by_scan(*result.policy, facts, caller, request);
        if (a.allowed != b.allowed || a.nearest != b.nearest || a.allowing_rules != b.allowing_rules)
            std::abort();
        // Explaining must work for whatever was decided.
        if (wcbroker::explain(*result.policy, a, facts, caller, request).reason.empty())
            std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const NoNames names;
    wcbroker::LoadOptions options;
    options.names = &names;
    options.unknown_names_are_errors = false;
    const std::string text(reinterpret_cast<const char*>(data), size);
    decide_on(wcbroker::load_policy_from_texts({{"fuzz.toml", text}}, options));
    decide_on(wcbroker::load_policy_from_texts({{"policy.toml", main_policy}, {"10-fuzz.toml", text}}, options));
    return 0;
}
