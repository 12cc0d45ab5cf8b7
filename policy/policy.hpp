// The in-memory form of a loaded, validated policy. Built only by the loader
// (policy-loader.hpp); immutable once built, shared by pointer so a reload can
// swap it while a decision in flight keeps the old one alive.
#pragma once

#include "access.hpp"
#include "diagnostics.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wcbroker {

class PolicyIndex;

struct ClassMatch {
    std::uint32_t value = 0;
    std::uint32_t mask = 0xffffff;
};

// A predicate over DeviceFacts. Every key that is present must match (AND);
// within a list-valued key any entry may match (OR).
struct DeviceSelector {
    std::string name; // empty for a selector written inline in a rule
    SourceLocation where;
    std::vector<std::uint16_t> vendor_ids;
    std::vector<std::uint16_t> device_ids;
    std::vector<std::uint16_t> subsystem_vendor_ids;
    std::vector<std::uint16_t> subsystem_device_ids;
    std::optional<ClassMatch> device_class;
    std::vector<std::string> address_globs; // canonical lower case
    std::vector<std::uint32_t> iommu_groups;
    std::string driver = "vfio-pci";
};

struct ByteRange {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;

    std::uint64_t end() const { return offset + length; } // loader guarantees no overflow
    bool contains(std::uint64_t start, std::uint64_t size) const
    {
        return start >= offset && size <= length && start - offset <= length - size;
    }
};

struct UserSubject {
    std::string name;         // as written; empty when written as a number
    std::optional<uid_t> uid; // nullopt: the name did not resolve at load time
};

struct GroupSubject {
    std::string name;
    std::optional<gid_t> gid;
};

struct Rule {
    std::string name;
    SourceLocation where; // the [[rule]] header
    std::string description;
    std::size_t order = 0; // position in merge order, 0-based

    std::vector<std::size_t> selectors; // indices into Policy::selectors; any may match
    std::uint32_t bar = 0;
    bool whole_bar = false;
    std::vector<ByteRange> ranges; // ascending, disjoint; empty when whole_bar
    Access access = Access::WriteCombine;

    // Who: (users OR groups) AND units AND cgroups, each part only when listed.
    std::vector<UserSubject> users;
    std::vector<GroupSubject> groups;
    std::vector<std::string> units;   // fnmatch globs over unit names
    std::vector<std::string> cgroups; // path prefixes, matched on '/' boundaries

    std::optional<std::uint32_t> max_leases; // at once, per caller uid, under this rule
    bool require_verified_wc = false;
    bool require_kernel_enforced_range = false;

    // "'name' (file:line:column)", the way rules are named in every message.
    std::string label() const;
};

enum class EnforcementMode {
    Enforce,
    Audit, // decisions are computed and logged but a denial still grants
};

std::string_view enforcement_mode_name(EnforcementMode mode);

struct Policy {
    EnforcementMode mode = EnforcementMode::Enforce;
    std::vector<std::string> files; // in merge order
    std::vector<DeviceSelector> selectors;
    std::vector<Rule> rules; // in merge order
    std::shared_ptr<const PolicyIndex> index;

    const DeviceSelector* find_selector(std::string_view name) const;
    const Rule* find_rule(std::string_view name) const;
};

} // namespace wcbroker
