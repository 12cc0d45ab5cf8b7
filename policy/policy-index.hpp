// Lookup structures built once per loaded policy so that a decision touches
// only the rules that can possibly apply: those whose selector can match the
// device, for the requested BAR and access, naming the caller's uid or gids.
#pragma once

#include "caller.hpp"
#include "device-facts.hpp"
#include "evaluator.hpp"

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <unordered_map>
#include <vector>

namespace wcbroker {

struct Policy;

class PolicyIndex {
public:
    explicit PolicyIndex(const Policy& policy);

    // Indices of selectors that match the device, ascending.
    std::vector<std::size_t> matching_selectors(const Policy& policy, const DeviceFacts& facts) const;

    // Rules (by order) of the given selectors that are for this BAR and access
    // and name one of the caller's ids or no ids at all; a superset of the
    // allowing rules, still to be checked for range, units and cgroups.
    std::vector<std::size_t> candidate_rules(const std::vector<std::size_t>& selectors, const CallerIdentity& caller,
        const AccessRequest& request) const;

    // Every rule of the given selectors for this BAR and access, whoever it
    // names, ascending.
    std::vector<std::size_t> bucket_rules(const std::vector<std::size_t>& selectors, const AccessRequest& request) const;

    // Every rule that uses one of the given selectors, ascending.
    std::vector<std::size_t> rules_of(const std::vector<std::size_t>& selectors) const;

private:
    struct Bucket {
        std::unordered_map<uid_t, std::vector<std::size_t>> by_uid;
        std::unordered_map<gid_t, std::vector<std::size_t>> by_gid;
        std::vector<std::size_t> without_ids; // rules that name only units or cgroups
        std::vector<std::size_t> all;
    };
    struct SelectorEntry {
        std::unordered_map<std::uint64_t, Bucket> buckets; // by (bar, access)
        std::vector<std::size_t> rules;
    };

    static std::uint64_t bucket_key(std::uint32_t bar, Access access);

    // Which selectors to even look at for a device: by exact address, by
    // vendor id, and the rest (globs, classes, groups), which are always checked.
    std::unordered_map<std::string, std::vector<std::size_t>> by_address_;
    std::unordered_map<std::uint16_t, std::vector<std::size_t>> by_vendor_;
    std::vector<std::size_t> unkeyed_;
    std::vector<SelectorEntry> selectors_;
};

} // namespace wcbroker
