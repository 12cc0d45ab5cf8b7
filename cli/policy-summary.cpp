#include "policy-summary.hpp"

#include "byte-size.hpp"

namespace wcbroker::cli {
namespace {

template <typename T, typename Format>
std::string join(const std::vector<T>& values, std::string_view separator, Format format)
{
    std::string out;
    for (const T& value : values) {
        if (!out.empty())
            out += separator;
        out += format(value);
    }
    return out;
}

std::string hex16(std::uint16_t id)
{
    return format_hex(id, 4);
}

std::string user_text(const UserSubject& user)
{
    if (user.name.empty())
        return std::to_string(*user.uid);
    return user.name + "(" + (user.uid ? std::to_string(*user.uid) : "unresolved") + ")";
}

std::string group_text(const GroupSubject& group)
{
    if (group.name.empty())
        return std::to_string(*group.gid);
    return group.name + "(" + (group.gid ? std::to_string(*group.gid) : "unresolved") + ")";
}

std::string selector_reference(const Policy& policy, std::size_t index)
{
    const DeviceSelector& selector = policy.selectors[index];
    return selector.name.empty() ? "{" + describe_selector(selector) + "}" : selector.name;
}

template <typename T>
toml::array to_array(const std::vector<T>& values)
{
    toml::array array;
    for (const T& value : values) {
        if constexpr (std::is_integral_v<T>)
            array.push_back(static_cast<std::int64_t>(value));
        else
            array.push_back(value);
    }
    return array;
}

} // namespace

std::string describe_selector(const DeviceSelector& selector)
{
    std::string text;
    auto add = [&](const std::string& part) {
        if (!text.empty())
            text += " ";
        text += part;
    };
    if (!selector.vendor_ids.empty())
        add("vendor " + join(selector.vendor_ids, "|", hex16));
    if (!selector.device_ids.empty())
        add("device " + join(selector.device_ids, "|", hex16));
    if (!selector.subsystem_vendor_ids.empty())
        add("subsystem_vendor " + join(selector.subsystem_vendor_ids, "|", hex16));
    if (!selector.subsystem_device_ids.empty())
        add("subsystem_device " + join(selector.subsystem_device_ids, "|", hex16));
    if (selector.device_class)
        add("class " + format_hex(selector.device_class->value, 6) + "/" + format_hex(selector.device_class->mask, 6));
    if (!selector.address_globs.empty())
        add("address " + join(selector.address_globs, "|", [](const std::string& s) { return s; }));
    if (!selector.iommu_groups.empty())
        add("iommu_group " + join(selector.iommu_groups, "|", [](std::uint32_t g) { return std::to_string(g); }));
    add("driver " + selector.driver);
    return text;
}

std::string describe_rule_ranges(const Rule& rule)
{
    if (rule.whole_bar)
        return "whole BAR";
    return join(rule.ranges, ", ", [](const ByteRange& range) {
        return "[" + format_hex(range.offset) + ", " + format_hex(range.end()) + ") " + format_byte_size(range.length);
    });
}

std::string policy_summary_text(const Policy& policy)
{
    std::size_t named = 0;
    for (const DeviceSelector& selector : policy.selectors)
        named += selector.name.empty() ? 0 : 1;
    std::string out = "Policy: " + std::to_string(policy.files.size()) + " file(s), " + std::to_string(named)
        + " selector(s), " + std::to_string(policy.rules.size()) + " rule(s); mode "
        + std::string(enforcement_mode_name(policy.mode)) + "; default deny\n";
    for (const std::string& file : policy.files)
        out += "  file " + file + "\n";
    for (const DeviceSelector& selector : policy.selectors) {
        if (!selector.name.empty())
            out += "selector " + selector.name + " (" + selector.where.to_string() + "): " + describe_selector(selector) + "\n";
    }
    for (const Rule& rule : policy.rules) {
        out += "rule " + rule.name + " (" + rule.where.to_string() + ")\n";
        out += "    devices " + join(rule.selectors, ", ", [&](std::size_t i) { return selector_reference(policy, i); })
            + "\n";
        out += "    bar " + std::to_string(rule.bar) + ", " + describe_rule_ranges(rule) + ", "
            + std::string(access_name(rule.access)) + "\n";
        std::string who;
        if (!rule.users.empty())
            who += " users " + join(rule.users, ", ", user_text) + ";";
        if (!rule.groups.empty())
            who += " groups " + join(rule.groups, ", ", group_text) + ";";
        if (!rule.units.empty())
            who += " units " + join(rule.units, ", ", [](const std::string& s) { return s; }) + ";";
        if (!rule.cgroups.empty())
            who += " cgroups " + join(rule.cgroups, ", ", [](const std::string& s) { return s; }) + ";";
        who.pop_back();
        out += "   " + who + "\n";
        std::string options;
        if (rule.max_leases)
            options += " at most " + std::to_string(*rule.max_leases) + " lease(s) per uid;";
        if (rule.require_verified_wc)
            options += " requires verified write-combining;";
        if (rule.require_kernel_enforced_range)
            options += " requires a kernel-enforced range;";
        if (!options.empty()) {
            options.pop_back();
            out += "   " + options + "\n";
        }
    }
    return out;
}

toml::table policy_summary_json(const Policy& policy)
{
    toml::table root;
    root.insert("mode", std::string(enforcement_mode_name(policy.mode)));
    root.insert("default", "deny");
    root.insert("files", to_array(policy.files));
    toml::array selectors;
    for (const DeviceSelector& selector : policy.selectors) {
        if (selector.name.empty())
            continue;
        toml::table entry;
        entry.insert("name", selector.name);
        entry.insert("location", selector.where.to_string());
        entry.insert("vendor", to_array(selector.vendor_ids));
        entry.insert("device", to_array(selector.device_ids));
        entry.insert("subsystem_vendor", to_array(selector.subsystem_vendor_ids));
        entry.insert("subsystem_device", to_array(selector.subsystem_device_ids));
        if (selector.device_class) {
            entry.insert("class", static_cast<std::int64_t>(selector.device_class->value));
            entry.insert("class_mask", static_cast<std::int64_t>(selector.device_class->mask));
        }
        entry.insert("address", to_array(selector.address_globs));
        entry.insert("iommu_group", to_array(selector.iommu_groups));
        entry.insert("driver", selector.driver);
        selectors.push_back(std::move(entry));
    }
    root.insert("selectors", std::move(selectors));
    toml::array rules;
    for (const Rule& rule : policy.rules) {
        toml::table entry;
        entry.insert("name", rule.name);
        entry.insert("location", rule.where.to_string());
        toml::array devices;
        for (std::size_t i : rule.selectors)
            devices.push_back(selector_reference(policy, i));
        entry.insert("devices", std::move(devices));
        entry.insert("bar", static_cast<std::int64_t>(rule.bar));
        if (rule.whole_bar) {
            entry.insert("ranges", "all");
        } else {
            toml::array ranges;
            for (const ByteRange& range : rule.ranges) {
                ranges.push_back(toml::table{{"offset", static_cast<std::int64_t>(range.offset)},
                    {"length", static_cast<std::int64_t>(range.length)}});
            }
            entry.insert("ranges", std::move(ranges));
        }
        entry.insert("access", std::string(access_name(rule.access)));
        toml::array users;
        for (const UserSubject& user : rule.users) {
            toml::table u;
            if (!user.name.empty())
                u.insert("name", user.name);
            if (user.uid)
                u.insert("uid", static_cast<std::int64_t>(*user.uid));
            users.push_back(std::move(u));
        }
        entry.insert("users", std::move(users));
        toml::array groups;
        for (const GroupSubject& group : rule.groups) {
            toml::table g;
            if (!group.name.empty())
                g.insert("name", group.name);
            if (group.gid)
                g.insert("gid", static_cast<std::int64_t>(*group.gid));
            groups.push_back(std::move(g));
        }
        entry.insert("groups", std::move(groups));
        entry.insert("units", to_array(rule.units));
        entry.insert("cgroups", to_array(rule.cgroups));
        if (rule.max_leases)
            entry.insert("max_leases", static_cast<std::int64_t>(*rule.max_leases));
        entry.insert("require_verified_wc", rule.require_verified_wc);
        entry.insert("require_kernel_enforced_range", rule.require_kernel_enforced_range);
        rules.push_back(std::move(entry));
    }
    root.insert("rules", std::move(rules));
    return root;
}

toml::array diagnostics_json(const Diagnostics& diagnostics)
{
    toml::array out;
    for (const Diagnostic& diagnostic : diagnostics.all()) {
        toml::table entry;
        entry.insert("severity", diagnostic.severity == Severity::Error ? "error" : "warning");
        entry.insert("file", diagnostic.where.file);
        entry.insert("line", static_cast<std::int64_t>(diagnostic.where.line));
        entry.insert("column", static_cast<std::int64_t>(diagnostic.where.column));
        entry.insert("key", diagnostic.key);
        entry.insert("message", diagnostic.message);
        out.push_back(std::move(entry));
    }
    return out;
}

} // namespace wcbroker::cli
