// Malformed policies: each case pins the exact location and message, so a
// change in wording or position is a deliberate, reviewed change.

#include "policy-test-support.hpp"

#include <algorithm>
#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

const std::string nic_selector = "[selector.nic]\nvendor = 0x8086\n";

// The rule most cases start from, one key per line in this order, so the
// line numbers in expectations can be read off the builder: the [[rule]]
// header is line 4 of policy(), then name, devices, bar, ranges, access, users.
const std::vector<std::pair<std::string, std::string>> base_rule = {
    {"name", "\"r\""},
    {"devices", "[\"nic\"]"},
    {"bar", "2"},
    {"ranges", "\"all\""},
    {"access", "\"write-combine\""},
    {"users", "[1000]"},
};

struct RuleEdit {
    std::map<std::string, std::string> set = {}; // replace a key's value in place
    std::vector<std::string> drop = {};          // leave keys out
    std::string extra = {};                      // lines appended after the last key
};

std::string rule(const RuleEdit& edit = {})
{
    std::string text = "[[rule]]\n";
    for (const auto& [key, value] : base_rule) {
        if (std::find(edit.drop.begin(), edit.drop.end(), key) != edit.drop.end())
            continue;
        auto replaced = edit.set.find(key);
        text += key + " = " + (replaced == edit.set.end() ? value : replaced->second) + "\n";
    }
    return text + edit.extra;
}

std::string policy(const std::string& body, const std::string& selector = nic_selector,
    const std::string& head = "version = 1\n")
{
    return head + selector + body;
}

struct MalformedCase {
    const char* name;
    std::string policy;
    std::vector<std::string> expected;
};

const std::vector<MalformedCase> malformed_cases = {
    {"syntax_error", R"(version = 1
[[rule]
name = "x"
)",
        {
            "policy.toml:2:8: error: Error while parsing table header: expected ']', saw '\\n' (TOML syntax error; the rest of this file was not checked)",
        }},
    {"missing_version", policy(rule(), nic_selector, ""),
        {
            "policy.toml:1:1: error: version: missing 'version = 1'; every policy file starts by naming the schema version it is written for",
        }},
    {"unsupported_version", policy(rule(), nic_selector, "version = 2\n"),
        {
            "policy.toml:1:11: error: version: unsupported version 2; this wcbroker reads version 1 (the rest of this file was not checked)",
        }},
    {"version_is_string", policy(rule(), nic_selector, "version = \"1\"\n"),
        {
            "policy.toml:1:11: error: version: expected the integer 1, found a string",
        }},
    {"unknown_top_level_key", policy(rule(), nic_selector, "version = 1\ndefualt = \"deny\"\n"),
        {
            "policy.toml:2:1: error: defualt: unknown key 'defualt'; did you mean 'default'? Valid keys here: version, default, mode, selector, rule",
        }},
    {"default_allow", policy(rule(), nic_selector, "version = 1\ndefault = \"allow\"\n"),
        {
            "policy.toml:2:11: error: default: unsupported default \"allow\"; only \"deny\" is valid: wcbroker grants nothing that no rule allows. To roll a policy out without enforcing it, use mode = \"audit\"",
        }},
    {"unknown_mode", policy(rule(), nic_selector, "version = 1\nmode = \"permissive\"\n"),
        {
            "policy.toml:2:8: error: mode: unknown mode \"permissive\"; use \"enforce\" or \"audit\"",
        }},
    {"mode_wrong_type", policy(rule(), nic_selector, "version = 1\nmode = 1\n"),
        {
            "policy.toml:2:8: error: mode: expected \"enforce\" or \"audit\", found an integer",
        }},
    {"selector_not_table", policy(rule({.drop = {"devices"}, .extra = "device = { vendor = 0x8086 }\n"}), "selector = 5\n"),
        {
            "policy.toml:2:12: error: selector: expected tables like [selector.NAME], found an integer",
        }},
    {"selector_bad_name", policy(rule(), "[selector.\"-nic\"]\nvendor = 0x8086\n" + nic_selector),
        {
            "policy.toml:2:11: error: selector.-nic: invalid selector name; use 1 to 64 letters, digits, '-', '_' or '.', not starting with '-' or '.'",
        }},
    {"selector_entry_not_table", policy(rule(), "[selector]\nnic = 5\n"),
        {
            "policy.toml:3:7: error: selector.nic: expected a table [selector.nic] of device properties, found an integer",
        }},
    {"selector_unknown_key", policy(rule(), nic_selector + "vendr = 0x8086\n"),
        {
            "policy.toml:4:1: error: selector.nic.vendr: unknown key 'vendr'; did you mean 'vendor'? Valid keys here: vendor, device, subsystem_vendor, subsystem_device, class, class_mask, address, iommu_group, driver, description",
        }},
    {"vendor_as_string", policy(rule(), "[selector.nic]\nvendor = \"0x8086\"\n"),
        {
            "policy.toml:3:10: error: selector.nic.vendor: expected a 16-bit vendor id such as 0x1d0f, or a list of them, found a string (write ids as hex integers without quotes)",
        }},
    {"vendor_too_big", policy(rule(), "[selector.nic]\nvendor = 0x18086\n"),
        {
            "policy.toml:3:10: error: selector.nic.vendor: vendor id 0x18086 does not fit in 16 bits (0x0 to 0xffff)",
        }},
    {"vendor_empty_list", policy(rule(), "[selector.nic]\nvendor = []\naddress = \"0000:3b:*.*\"\n"),
        {
            "policy.toml:3:10: error: selector.nic.vendor: empty list would match nothing; remove the key or list a 16-bit vendor id such as 0x1d0f, or a list of them",
        }},
    {"device_without_vendor", policy(rule(), "[selector.nic]\ndevice = 0x1572\naddress = \"0000:3b:*.*\"\n"),
        {
            "policy.toml:3:10: error: selector.nic.device: a device id is only meaningful with its vendor; add vendor = 0x... to this selector",
        }},
    {"subsystem_device_without_vendor", policy(rule(), nic_selector + "subsystem_device = 0x0001\n"),
        {
            "policy.toml:4:20: error: selector.nic.subsystem_device: a subsystem device id is only meaningful with its subsystem vendor; add subsystem_vendor = 0x...",
        }},
    {"class_too_big", policy(rule(), "[selector.nic]\nclass = 0x1020000\n"),
        {
            "policy.toml:3:9: error: selector.nic.class: class 0x1020000 does not fit in 24 bits",
        }},
    {"class_mask_without_class", policy(rule(), nic_selector + "class_mask = 0xffff00\n"),
        {
            "policy.toml:4:14: error: selector.nic.class_mask: class_mask needs a class to apply to; add class = 0x...",
        }},
    {"class_bits_outside_mask", policy(rule(), "[selector.nic]\nclass = 0x020001\nclass_mask = 0xffff00\n"),
        {
            "policy.toml:3:9: error: selector.nic.class: class 0x020001 has bits outside class_mask 0xffff00, so no device can match; clear those bits or widen the mask",
        }},
    {"class_mask_zero", policy(rule(), "[selector.nic]\nclass = 0x020000\nclass_mask = 0\n"),
        {
            "policy.toml:4:14: error: selector.nic.class_mask: class_mask 0x000000 must be a non-zero 24-bit mask such as 0xff0000 or 0xffff00",
        }},
    {"address_without_domain", policy(rule(), "[selector.nic]\naddress = \"3b:00.0\"\n"),
        {
            "policy.toml:3:11: error: selector.nic.address: \"3b:00.0\" is not a PCI address pattern; write domain:bus:device.function in hex, such as \"0000:3b:00.0\", with * ? [ ] wildcards as in \"0000:3b:*.*\"",
        }},
    {"address_wrong_type", policy(rule(), "[selector.nic]\naddress = [5]\n"),
        {
            "policy.toml:3:12: error: selector.nic.address: expected a PCI address pattern such as \"0000:3b:*.*\", found an integer",
        }},
    {"iommu_group_negative", policy(rule(), "[selector.nic]\niommu_group = -1\n"),
        {
            "policy.toml:3:15: error: selector.nic.iommu_group: expected an IOMMU group number (a non-negative integer, the N in /dev/vfio/N), found -1",
        }},
    {"driver_invalid", policy(rule(), nic_selector + "driver = \"vfio pci\"\n"),
        {
            "policy.toml:4:10: error: selector.nic.driver: \"vfio pci\" is not a kernel driver name",
        }},
    {"selector_matches_everything", policy(rule(), "[selector.nic]\ndriver = \"vfio-pci\"\n"),
        {
            "policy.toml:2:1: error: selector.nic: this selector would match every device; set at least one of vendor, subsystem_vendor, class, address or iommu_group (address = \"*:*:*.*\" if every device is really meant)",
        }},
    {"rule_single_brackets", policy("[rule]\nname = \"r\"\n"),
        {
            "policy.toml:4:1: error: rule: expected one [[rule]] table per rule (note the double brackets), found a table",
        }},
    {"rule_missing_name", policy(rule({.drop = {"name"}})),
        {
            "policy.toml:4:1: error: rule[#1].name: every rule needs a name = \"...\"; audit records and error messages refer to rules by name",
        }},
    {"rule_bad_name", policy(rule({.set = {{"name", "\"my rule\""}}})),
        {
            "policy.toml:5:8: error: rule[#1].name: invalid rule name \"my rule\"; use 1 to 64 letters, digits, '-', '_' or '.', not starting with '-' or '.'",
        }},
    {"rule_unknown_key", policy(rule({.extra = "acess = \"uncached\"\n"})),
        {
            "policy.toml:11:1: error: rule[r].acess: unknown key 'acess'; did you mean 'access'? Valid keys here: name, description, devices, device, bar, ranges, access, users, groups, units, cgroups, max_leases, require_verified_wc, require_kernel_enforced_range",
        }},
    {"rule_devices_and_device", policy(rule({.extra = "device = { vendor = 0x8086 }\n"})),
        {
            "policy.toml:11:10: error: rule[r].device: use either devices (names of [selector.NAME] tables) or device (an inline selector), not both",
        }},
    {"rule_no_devices", policy(rule({.drop = {"devices"}})),
        {
            "policy.toml:4:1: error: rule[r].devices: a rule must say which devices it covers: devices = [\"NAME\"] naming [selector.NAME] tables, or device = { vendor = 0x1d0f, ... } inline",
        }},
    {"rule_unknown_selector", policy(rule({.set = {{"devices", "[\"nics\"]"}}})),
        {
            "policy.toml:6:12: error: rule[r].devices: unknown selector 'nics'; did you mean 'nic'? Defined selectors: nic",
        }},
    {"rule_devices_wrong_type", policy(rule({.set = {{"devices", "[1]"}}})),
        {
            "policy.toml:6:12: error: rule[r].devices: expected the name of a [selector.NAME] table, found an integer",
        }},
    {"rule_inline_selector_error", policy(rule({.drop = {"devices"}, .extra = "device = { vendor = \"intel\" }\n"})),
        {
            "policy.toml:10:21: error: rule[r].device.vendor: expected a 16-bit vendor id such as 0x1d0f, or a list of them, found a string (write ids as hex integers without quotes)",
        }},
    {"bar_missing", policy(rule({.drop = {"bar"}})),
        {
            "policy.toml:4:1: error: rule[r].bar: missing bar = N, the BAR index (0 to 5) this rule covers",
        }},
    {"bar_out_of_range", policy(rule({.set = {{"bar", "6"}}})),
        {
            "policy.toml:7:7: error: rule[r].bar: BAR index 6 is out of range; use 0 to 5 (the expansion ROM and bridge windows cannot be mapped)",
        }},
    {"bar_wrong_type", policy(rule({.set = {{"bar", "\"2\""}}})),
        {
            "policy.toml:7:7: error: rule[r].bar: expected a BAR index from 0 to 5, found a string",
        }},
    {"ranges_missing", policy(rule({.drop = {"ranges"}})),
        {
            "policy.toml:4:1: error: rule[r].ranges: missing ranges = ...; use \"all\" (the whole BAR) or a list of { offset = ..., length = ... } tables",
        }},
    {"ranges_bad_string", policy(rule({.set = {{"ranges", "\"everything\""}}})),
        {
            "policy.toml:8:10: error: rule[r].ranges: expected \"all\" (the whole BAR) or a list of { offset = ..., length = ... } tables, found \"everything\"",
        }},
    {"ranges_empty", policy(rule({.set = {{"ranges", "[]"}}})),
        {
            "policy.toml:8:10: error: rule[r].ranges: empty list would grant nothing; list at least one range or use \"all\"",
        }},
    {"ranges_item_not_table", policy(rule({.set = {{"ranges", "[5]"}}})),
        {
            "policy.toml:8:11: error: rule[r].ranges[0]: expected a table { offset = ..., length = ... }, found an integer",
        }},
    {"range_missing_length", policy(rule({.set = {{"ranges", "[{ offset = 0 }]"}}})),
        {
            "policy.toml:8:11: error: rule[r].ranges[0].length: missing length = ..., the length of the range in bytes",
        }},
    {"range_unaligned_offset", policy(rule({.set = {{"ranges", "[{ offset = 0x1001, length = \"4KiB\" }]"}}})),
        {
            "policy.toml:8:22: error: rule[r].ranges[0].offset: offset 0x1001 is not a multiple of the page size (4096); use 0x1000 or 0x2000",
        }},
    {"range_unaligned_length", policy(rule({.set = {{"ranges", "[{ offset = 0, length = 0x1800 }]"}}})),
        {
            "policy.toml:8:34: error: rule[r].ranges[0].length: length 0x1800 is not a multiple of the page size (4096); mappings are whole pages, so use 0x1000 or 0x2000",
        }},
    {"range_zero_length", policy(rule({.set = {{"ranges", "[{ offset = 0, length = 0 }]"}}})),
        {
            "policy.toml:8:34: error: rule[r].ranges[0].length: length must be greater than zero",
        }},
    {"range_decimal_unit", policy(rule({.set = {{"ranges", "[{ offset = 0, length = \"2MB\" }]"}}})),
        {
            "policy.toml:8:34: error: rule[r].ranges[0].length: \"2MB\" is not a byte count: an integer, or a string such as \"4KiB\", \"2MiB\" or \"0x1000\" (decimal units are ambiguous for BAR layouts; use KiB, MiB or GiB)",
        }},
    {"range_garbage_size", policy(rule({.set = {{"ranges", "[{ offset = 0, length = \"lots\" }]"}}})),
        {
            "policy.toml:8:34: error: rule[r].ranges[0].length: \"lots\" is not a byte count: an integer, or a string such as \"4KiB\", \"2MiB\" or \"0x1000\"",
        }},
    {"range_negative_offset", policy(rule({.set = {{"ranges", "[{ offset = -4096, length = 4096 }]"}}})),
        {
            "policy.toml:8:22: error: rule[r].ranges[0].offset: byte offset of the range inside the BAR cannot be negative",
        }},
    {"ranges_out_of_order", policy(rule({.set = {{"ranges", "[{ offset = \"8KiB\", length = \"4KiB\" }, { offset = 0, length = \"4KiB\" }]"}}})),
        {
            "policy.toml:8:60: error: rule[r].ranges[1].offset: ranges must be in ascending order: [0x0, 0x1000) starts before the previous range [0x2000, 0x3000); move it up",
        }},
    {"ranges_overlap", policy(rule({.set = {{"ranges", "[{ offset = 0, length = \"8KiB\" }, { offset = \"4KiB\", length = \"8KiB\" }]"}}})),
        {
            "policy.toml:8:55: error: rule[r].ranges[1].offset: range [0x1000, 0x3000) overlaps the previous range [0x0, 0x2000); ranges must not overlap (merge them into one)",
        }},
    {"range_overflow", policy(rule({.set = {{"ranges", "[{ offset = \"0xfffffffffffff000\", length = \"8KiB\" }]"}}})),
        {
            "policy.toml:8:53: error: rule[r].ranges[0].length: offset + length overflows 64 bits",
        }},
    {"range_unknown_key", policy(rule({.set = {{"ranges", "[{ offset = 0, size = 4096 }]"}}})),
        {
            "policy.toml:8:11: error: rule[r].ranges[0].length: missing length = ..., the length of the range in bytes",
            "policy.toml:8:25: error: rule[r].ranges[0].size: unknown key 'size'; valid keys here: offset, length",
        }},
    {"access_missing", policy(rule({.drop = {"access"}})),
        {
            "policy.toml:4:1: error: rule[r].access: missing access = \"write-combine\" or \"uncached\"",
        }},
    {"access_abbreviated", policy(rule({.set = {{"access", "\"wc\""}}})),
        {
            "policy.toml:9:10: error: rule[r].access: unknown access \"wc\"; use \"write-combine\" or \"uncached\" (did you mean \"write-combine\"?)",
        }},
    {"access_wrong_type", policy(rule({.set = {{"access", "true"}}})),
        {
            "policy.toml:9:10: error: rule[r].access: expected \"write-combine\" or \"uncached\", found a boolean",
        }},
    {"no_subjects", policy(rule({.drop = {"users"}})),
        {
            "policy.toml:4:1: error: rule[r]: this rule names no subjects, so it would grant nobody; add users, groups, units or cgroups",
        }},
    {"uid_negative", policy(rule({.set = {{"users", "[-1]"}}})),
        {
            "policy.toml:10:10: error: rule[r].users: uid -1 is out of range (0 to 4294967294)",
        }},
    {"uid_float", policy(rule({.set = {{"users", "[1.5]"}}})),
        {
            "policy.toml:10:10: error: rule[r].users: expected a user name or a uid, found a floating-point number",
        }},
    {"users_empty", policy(rule({.set = {{"users", "[]"}}})),
        {
            "policy.toml:10:9: error: rule[r].users: empty list would match nothing; remove the key or list user names or uids",
        }},
    {"gid_out_of_range", policy(rule({.extra = "groups = [4294967295]\n"})),
        {
            "policy.toml:11:11: error: rule[r].groups: gid 4294967295 is out of range (0 to 4294967294)",
        }},
    {"unit_without_type", policy(rule({.extra = "units = [\"dpdk\"]\n"})),
        {
            "policy.toml:11:10: error: rule[r].units: unit \"dpdk\" has no type a client can run in; write \"dpdk.service\" or \"dpdk.scope\" (or end the glob with * to match any type)",
        }},
    {"unit_bad_chars", policy(rule({.extra = "units = [\"dpdk service\"]\n"})),
        {
            "policy.toml:11:10: error: rule[r].units: \"dpdk service\" is not a unit name or glob; use letters, digits, \":-_.\\@\" and * ? [ ]",
        }},
    {"cgroup_relative", policy(rule({.extra = "cgroups = [\"system.slice/dpdk.service\"]\n"})),
        {
            "policy.toml:11:12: error: rule[r].cgroups: \"system.slice/dpdk.service\" is not a normalized absolute cgroup path; write it as /proc/<pid>/cgroup shows it, such as \"/system.slice/dpdk.service\" (no trailing '/', '.', '..' or '//')",
        }},
    {"cgroup_dotdot", policy(rule({.extra = "cgroups = [\"/system.slice/../dpdk.service\"]\n"})),
        {
            "policy.toml:11:12: error: rule[r].cgroups: \"/system.slice/../dpdk.service\" is not a normalized absolute cgroup path; write it as /proc/<pid>/cgroup shows it, such as \"/system.slice/dpdk.service\" (no trailing '/', '.', '..' or '//')",
        }},
    {"max_leases_zero", policy(rule({.extra = "max_leases = 0\n"})),
        {
            "policy.toml:11:14: error: rule[r].max_leases: max_leases 0 is out of range; use 1 to 65536 (to grant nothing, remove the rule)",
        }},
    {"max_leases_string", policy(rule({.extra = "max_leases = \"4\"\n"})),
        {
            "policy.toml:11:14: error: rule[r].max_leases: expected a lease count from 1 to 65536, found a string",
        }},
    {"verified_wc_on_uncached", policy(rule({.set = {{"access", "\"uncached\""}}, .extra = "require_verified_wc = true\n"})),
        {
            "policy.toml:11:23: error: rule[r].require_verified_wc: require_verified_wc applies only to access = \"write-combine\"; remove it from this uncached rule",
        }},
    {"verified_wc_not_bool", policy(rule({.extra = "require_verified_wc = \"yes\"\n"})),
        {
            "policy.toml:11:23: error: rule[r].require_verified_wc: expected true or false, found a string",
        }},
    {"duplicate_rule_name", policy(rule() + rule({.set = {{"bar", "4"}}})),
        {
            "policy.toml:11:1: error: rule[r].name: rule 'r' is already defined at policy.toml:4:1; files can add rules but not redefine them, so pick another name",
        }},
    {"duplicate_toml_key", policy(rule({.extra = "bar = 3\n"})),
        {
            "policy.toml:11:7: error: Error while parsing key-value pair: cannot redefine existing integer 'bar' (TOML syntax error; the rest of this file was not checked)",
        }},
    {"access_conflict", policy(rule() + rule({.set = {{"name", "\"u\""}, {"ranges", "[{ offset = \"4KiB\", length = \"4KiB\" }]"}, {"access", "\"uncached\""}}})),
        {
            "policy.toml:11:1: error: rule[u].access: rule 'u' grants uncached on BAR 2 where rule 'r' (policy.toml:4:1) grants write-combine for the same devices (selector 'nic'); one page cannot be both, so make their ranges disjoint",
        }},
};

class MalformedPolicy : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedPolicy, ReportsExactLocationAndMessage)
{
    const MalformedCase& c = GetParam();
    const LoadResult result = load_text(c.policy);
    EXPECT_EQ(result.policy, nullptr) << "a policy with errors must never be produced";
    EXPECT_EQ(rendered(result), c.expected) << "policy:\n" << c.policy;
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedPolicy, ::testing::ValuesIn(malformed_cases),
    [](const ::testing::TestParamInfo<MalformedCase>& param) { return std::string(param.param.name); });

TEST(MalformedPolicy, CoversAtLeastFortyDistinctMistakes)
{
    EXPECT_GE(malformed_cases.size(), 40u);
}

TEST(MalformedPolicy, ReportsEveryErrorInAFileNotJustTheFirst)
{
    const std::string text = policy(rule({.set = {{"bar", "9"}, {"access", "\"wc\""}},
                                         .extra = "max_leases = 0\nunits = [\"x\"]\n"}),
        "[selector.nic]\nvendor = \"intel\"\n");
    const LoadResult result = load_text(text);
    ASSERT_EQ(result.policy, nullptr);
    const std::vector<std::string> lines = rendered(result);
    ASSERT_EQ(lines.size(), 5u) << ::testing::PrintToString(lines);
    EXPECT_EQ(lines[0].rfind("policy.toml:3:10: error: selector.nic.vendor:", 0), 0u);
    EXPECT_EQ(lines[1].rfind("policy.toml:7:7: error: rule[r].bar:", 0), 0u);
    EXPECT_EQ(lines[2].rfind("policy.toml:9:10: error: rule[r].access:", 0), 0u);
    EXPECT_EQ(lines[3].rfind("policy.toml:11:14: error: rule[r].max_leases:", 0), 0u);
    EXPECT_EQ(lines[4].rfind("policy.toml:12:10: error: rule[r].units:", 0), 0u);
}

TEST(MalformedPolicy, UnknownUserIsAnErrorForCheckPolicy)
{
    const LoadResult result = load_text(policy(rule({.set = {{"users", "[\"mallory\"]"}}})));
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        "policy.toml:10:10: error: rule[r].users: no user named 'mallory' on this host; create it or use a numeric id"});
}

TEST(MalformedPolicy, UnknownGroupIsAWarningForTheDaemonAndMatchesNobody)
{
    const LoadResult result = load_text(policy(rule({.extra = "groups = [\"ghosts\"]\n"})), false);
    ASSERT_NE(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        "policy.toml:11:11: warning: rule[r].groups: no group named 'ghosts' on this host; this entry matches nobody "
        "until the policy is reloaded after the group exists"});
    EXPECT_FALSE(result.policy->rules[0].groups[0].gid.has_value());
}

TEST(MalformedPolicy, QuotedNumericUserGetsAHint)
{
    const LoadResult result = load_text(policy(rule({.set = {{"users", "[\"1000\"]"}}})));
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        "policy.toml:10:10: error: rule[r].users: no user named '1000' on this host; to give a numeric id, write it "
        "as an integer without quotes; create it or use a numeric id"});
}

} // namespace
} // namespace wcbroker::test
