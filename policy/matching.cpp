#include "matching.hpp"

#include "byte-size.hpp"
#include "pci-address.hpp"

#include <algorithm>
#include <fnmatch.h>

namespace wcbroker {
namespace {

template <typename T>
bool contains(const std::vector<T>& values, T value)
{
    return std::find(values.begin(), values.end(), value) != values.end();
}

std::string hex_list(const std::vector<std::uint16_t>& ids)
{
    std::string out;
    for (std::uint16_t id : ids) {
        if (!out.empty())
            out += "|";
        out += format_hex(id, 4);
    }
    return out;
}

template <typename T>
std::string join(const std::vector<T>& values)
{
    std::string out;
    for (const auto& value : values) {
        if (!out.empty())
            out += ", ";
        if constexpr (std::is_same_v<T, std::string>)
            out += value;
        else
            out += std::to_string(value);
    }
    return out;
}

std::string describe_users(const Rule& rule)
{
    std::string out;
    for (const UserSubject& user : rule.users) {
        if (!out.empty())
            out += ", ";
        if (user.name.empty())
            out += std::to_string(*user.uid);
        else
            out += user.name + (user.uid ? "(" + std::to_string(*user.uid) + ")" : "(unresolved)");
    }
    return out;
}

std::string describe_groups(const Rule& rule)
{
    std::string out;
    for (const GroupSubject& group : rule.groups) {
        if (!out.empty())
            out += ", ";
        if (group.name.empty())
            out += std::to_string(*group.gid);
        else
            out += group.name + (group.gid ? "(" + std::to_string(*group.gid) + ")" : "(unresolved)");
    }
    return out;
}

// Matching runs on every decision, explaining only when asked: the text is
// built by `make_text` only when there is somewhere to put it.
template <typename MakeText>
bool mismatch(std::string* why_not, MakeText make_text)
{
    if (why_not != nullptr)
        *why_not = make_text();
    return false;
}

std::string selector_who(const DeviceSelector& selector)
{
    return selector.name.empty() ? "the rule's device selector" : "selector '" + selector.name + "'";
}

} // namespace

std::string describe_range(std::uint64_t offset, std::uint64_t length)
{
    return "[" + format_hex(offset) + ", +" + format_byte_size(length) + ")";
}

bool selector_matches(const DeviceSelector& selector, const DeviceFacts& facts, std::string* why_not)
{
    const auto& s = selector;
    if (!s.vendor_ids.empty() && !contains(s.vendor_ids, facts.vendor_id)) {
        return mismatch(why_not, [&] {
            return selector_who(s) + " wants vendor " + hex_list(s.vendor_ids) + ", the device has "
                + format_hex(facts.vendor_id, 4);
        });
    }
    if (!s.device_ids.empty() && !contains(s.device_ids, facts.device_id)) {
        return mismatch(why_not, [&] {
            return selector_who(s) + " wants device " + hex_list(s.device_ids) + ", the device has "
                + format_hex(facts.device_id, 4);
        });
    }
    if (!s.subsystem_vendor_ids.empty() && !contains(s.subsystem_vendor_ids, facts.subsystem_vendor_id)) {
        return mismatch(why_not, [&] {
            return selector_who(s) + " wants subsystem vendor " + hex_list(s.subsystem_vendor_ids) + ", the device has "
                + format_hex(facts.subsystem_vendor_id, 4);
        });
    }
    if (!s.subsystem_device_ids.empty() && !contains(s.subsystem_device_ids, facts.subsystem_device_id)) {
        return mismatch(why_not, [&] {
            return selector_who(s) + " wants subsystem device " + hex_list(s.subsystem_device_ids) + ", the device has "
                + format_hex(facts.subsystem_device_id, 4);
        });
    }
    if (s.device_class && (facts.class_code & s.device_class->mask) != s.device_class->value) {
        return mismatch(why_not, [&] {
            return selector_who(s) + " wants class " + format_hex(s.device_class->value, 6) + " (mask "
                + format_hex(s.device_class->mask, 6) + "), the device has " + format_hex(facts.class_code, 6);
        });
    }
    if (!s.address_globs.empty()
        && std::none_of(s.address_globs.begin(), s.address_globs.end(),
            [&](const std::string& glob) { return pci_address_matches(glob, facts.address); })) {
        return mismatch(why_not, [&] {
            return selector_who(s) + " wants address " + join(s.address_globs) + ", the device is " + facts.address;
        });
    }
    if (!s.iommu_groups.empty() && (!facts.iommu_group || !contains(s.iommu_groups, *facts.iommu_group))) {
        return mismatch(why_not, [&] {
            return selector_who(s) + " wants IOMMU group " + join(s.iommu_groups) + ", the device is in "
                + (facts.iommu_group ? "group " + std::to_string(*facts.iommu_group) : "no IOMMU group");
        });
    }
    // The daemon serves devices on vfio-pci only; a selector for another
    // driver would match nothing it could hand out, and says so.
    if (s.driver != "vfio-pci") {
        return mismatch(why_not, [&] {
            return selector_who(s) + " wants driver " + s.driver + ", and wcbrokerd serves only devices on vfio-pci";
        });
    }
    if (s.driver != facts.driver) {
        return mismatch(why_not, [&] {
            return selector_who(s) + " wants driver " + s.driver + ", the device is "
                + (facts.driver.empty() ? "not bound to a driver" : "bound to " + facts.driver);
        });
    }
    return true;
}

bool rule_device_matches(const Policy& policy, const Rule& rule, const DeviceFacts& facts, std::string* why_not)
{
    for (std::size_t index : rule.selectors) {
        if (selector_matches(policy.selectors[index], facts))
            return true;
    }
    // Explain with the rule's first selector: for the usual one-selector rule
    // that is the whole story.
    if (why_not != nullptr && !rule.selectors.empty())
        selector_matches(policy.selectors[rule.selectors.front()], facts, why_not);
    return false;
}

bool rule_range_matches(const Rule& rule, const BarFacts& bar, const AccessRequest& request, std::string* why_not)
{
    if (rule.whole_bar) {
        if (ByteRange{0, bar.size}.contains(request.offset, request.length))
            return true;
        return mismatch(why_not, [&] {
            return "the request " + describe_range(request.offset, request.length) + " goes past the end of BAR "
                + std::to_string(bar.index) + " (" + format_byte_size(bar.size) + ")";
        });
    }
    for (const ByteRange& range : rule.ranges) {
        if (range.contains(request.offset, request.length))
            return true;
    }
    return mismatch(why_not, [&] {
        std::string granted;
        for (const ByteRange& range : rule.ranges) {
            if (!granted.empty())
                granted += ", ";
            granted += describe_range(range.offset, range.length);
        }
        return "the request " + describe_range(request.offset, request.length)
            + " is not inside one of the granted ranges " + granted;
    });
}

bool rule_subject_matches(const Rule& rule, const CallerIdentity& caller, std::string* why_not)
{
    if (!rule.users.empty() || !rule.groups.empty()) {
        const bool user_ok = std::any_of(rule.users.begin(), rule.users.end(),
            [&](const UserSubject& user) { return user.uid && *user.uid == caller.uid; });
        const bool group_ok = !user_ok && std::any_of(rule.groups.begin(), rule.groups.end(), [&](const GroupSubject& group) {
            return group.gid && contains(caller.gids, *group.gid);
        });
        if (!user_ok && !group_ok) {
            return mismatch(why_not, [&] {
                std::string text = "uid " + std::to_string(caller.uid);
                text += rule.users.empty() ? " is not named (the rule lists no users)"
                                           : " is not among users " + describe_users(rule);
                text += " and gids [" + join(caller.gids) + "]";
                text += rule.groups.empty() ? " are not named (the rule lists no groups)"
                                            : " include none of groups " + describe_groups(rule);
                return text;
            });
        }
    }
    if (!rule.units.empty()) {
        if (!caller.systemd_unit) {
            return mismatch(why_not, [&] {
                return "the rule wants units " + join(rule.units) + ", and the caller's systemd unit is unknown";
            });
        }
        const bool any = std::any_of(rule.units.begin(), rule.units.end(), [&](const std::string& glob) {
            return ::fnmatch(glob.c_str(), caller.systemd_unit->c_str(), 0) == 0;
        });
        if (!any) {
            return mismatch(why_not, [&] {
                return "the caller's unit " + *caller.systemd_unit + " matches none of units " + join(rule.units);
            });
        }
    }
    if (!rule.cgroups.empty()) {
        if (!caller.cgroup) {
            return mismatch(why_not, [&] {
                return "the rule wants cgroups " + join(rule.cgroups) + ", and the caller's cgroup is unknown";
            });
        }
        const bool any = std::any_of(rule.cgroups.begin(), rule.cgroups.end(),
            [&](const std::string& prefix) { return cgroup_is_under(*caller.cgroup, prefix); });
        if (!any) {
            return mismatch(why_not, [&] {
                return "the caller's cgroup " + *caller.cgroup + " is under none of " + join(rule.cgroups);
            });
        }
    }
    return true;
}

bool cgroup_is_under(const std::string& cgroup, const std::string& prefix)
{
    if (prefix == "/")
        return cgroup.starts_with("/");
    if (!cgroup.starts_with(prefix))
        return false;
    return cgroup.size() == prefix.size() || cgroup[prefix.size()] == '/';
}

} // namespace wcbroker
