#include "policy-index.hpp"

#include "matching.hpp"
#include "policy.hpp"

#include <algorithm>

namespace wcbroker {
namespace {

bool is_literal(const std::string& glob)
{
    return glob.find_first_of("*?[") == std::string::npos;
}

void sort_unique(std::vector<std::size_t>& values)
{
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
}

void append(std::vector<std::size_t>& to, const std::vector<std::size_t>& from)
{
    to.insert(to.end(), from.begin(), from.end());
}

} // namespace

std::uint64_t PolicyIndex::bucket_key(std::uint32_t bar, Access access)
{
    return (std::uint64_t{bar} << 1) | (access == Access::WriteCombine ? 0 : 1);
}

PolicyIndex::PolicyIndex(const Policy& policy)
    : selectors_(policy.selectors.size())
{
    for (std::size_t i = 0; i < policy.selectors.size(); ++i) {
        const DeviceSelector& selector = policy.selectors[i];
        const bool exact_addresses = !selector.address_globs.empty()
            && std::all_of(selector.address_globs.begin(), selector.address_globs.end(), is_literal);
        if (exact_addresses) {
            for (const std::string& address : selector.address_globs)
                by_address_[address].push_back(i);
        } else if (!selector.vendor_ids.empty()) {
            for (std::uint16_t vendor : selector.vendor_ids)
                by_vendor_[vendor].push_back(i);
        } else {
            unkeyed_.push_back(i);
        }
    }
    for (const Rule& rule : policy.rules) {
        for (std::size_t selector : rule.selectors) {
            SelectorEntry& entry = selectors_[selector];
            entry.rules.push_back(rule.order);
            Bucket& bucket = entry.buckets[bucket_key(rule.bar, rule.access)];
            bucket.all.push_back(rule.order);
            if (rule.users.empty() && rule.groups.empty()) {
                bucket.without_ids.push_back(rule.order);
                continue;
            }
            // Names that did not resolve at load time match nobody, in the
            // scan as here, so they are simply not indexed.
            for (const UserSubject& user : rule.users) {
                if (user.uid)
                    bucket.by_uid[*user.uid].push_back(rule.order);
            }
            for (const GroupSubject& group : rule.groups) {
                if (group.gid)
                    bucket.by_gid[*group.gid].push_back(rule.order);
            }
        }
    }
}

std::vector<std::size_t> PolicyIndex::matching_selectors(const Policy& policy, const DeviceFacts& facts) const
{
    std::vector<std::size_t> candidates;
    candidates.reserve(unkeyed_.size() + 4);
    append(candidates, unkeyed_);
    if (auto it = by_address_.find(facts.address); it != by_address_.end())
        append(candidates, it->second);
    if (auto it = by_vendor_.find(facts.vendor_id); it != by_vendor_.end())
        append(candidates, it->second);
    sort_unique(candidates);
    std::erase_if(candidates, [&](std::size_t i) { return !selector_matches(policy.selectors[i], facts); });
    return candidates;
}

std::vector<std::size_t> PolicyIndex::candidate_rules(const std::vector<std::size_t>& selectors,
    const CallerIdentity& caller, const AccessRequest& request) const
{
    std::vector<std::size_t> rules;
    const std::uint64_t key = bucket_key(request.bar, request.access);
    for (std::size_t selector : selectors) {
        const auto& buckets = selectors_[selector].buckets;
        auto found = buckets.find(key);
        if (found == buckets.end())
            continue;
        const Bucket& bucket = found->second;
        if (auto it = bucket.by_uid.find(caller.uid); it != bucket.by_uid.end())
            append(rules, it->second);
        for (gid_t gid : caller.gids) {
            if (auto it = bucket.by_gid.find(gid); it != bucket.by_gid.end())
                append(rules, it->second);
        }
        append(rules, bucket.without_ids);
    }
    sort_unique(rules);
    return rules;
}

std::vector<std::size_t> PolicyIndex::bucket_rules(const std::vector<std::size_t>& selectors,
    const AccessRequest& request) const
{
    std::vector<std::size_t> rules;
    const std::uint64_t key = bucket_key(request.bar, request.access);
    for (std::size_t selector : selectors) {
        const auto& buckets = selectors_[selector].buckets;
        if (auto found = buckets.find(key); found != buckets.end())
            append(rules, found->second.all);
    }
    sort_unique(rules);
    return rules;
}

std::vector<std::size_t> PolicyIndex::rules_of(const std::vector<std::size_t>& selectors) const
{
    std::vector<std::size_t> rules;
    for (std::size_t selector : selectors)
        append(rules, selectors_[selector].rules);
    sort_unique(rules);
    return rules;
}

} // namespace wcbroker
