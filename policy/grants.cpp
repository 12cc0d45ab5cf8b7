#include "grants.hpp"

#include "matching.hpp"

#include <algorithm>

namespace wcbroker {

std::vector<Grant> grants_for(const Policy& policy, const DeviceFacts& facts, const CallerIdentity& caller,
    std::uint32_t bar)
{
    std::vector<Grant> grants;
    const BarFacts* facts_of_bar = facts.bar(bar);
    if (facts_of_bar == nullptr || facts_of_bar->size == 0)
        return grants;
    const std::uint64_t bar_size = facts_of_bar->size;
    const auto add = [&](const Rule& rule, const ByteRange& range) {
        if (range.offset >= bar_size)
            return;
        grants.push_back({{range.offset, std::min(range.length, bar_size - range.offset)}, rule.access, &rule});
    };
    for (const Rule& rule : policy.rules) {
        if (rule.bar != bar || !rule_subject_matches(rule, caller) || !rule_device_matches(policy, rule, facts))
            continue;
        if (rule.whole_bar) {
            add(rule, {0, bar_size});
            continue;
        }
        for (const ByteRange& range : rule.ranges)
            add(rule, range);
    }
    return grants;
}

} // namespace wcbroker
