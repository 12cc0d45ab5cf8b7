// The udev rules autobind-rules writes bind exactly the devices the policy
// selects: checked by matching the generated lines the way udev does
// (fnmatch, "|" alternatives) against a grid of devices, and comparing with
// the policy's own selector matching.

#include "autobind-rules.hpp"
#include "matching.hpp"
#include "policy-test-support.hpp"

#include <fnmatch.h>
#include <gtest/gtest.h>
#include <sstream>

namespace wcbroker::test {
namespace {

using cli::class_glob;
using cli::make_autobind_rules;

// One generated match line, as udev would evaluate it on an "add" event.
class UdevMatchLine {
public:
    explicit UdevMatchLine(const std::string& line)
    {
        std::stringstream stream(line);
        std::string term;
        while (std::getline(stream, term, ',')) {
            term.erase(0, term.find_first_not_of(' '));
            const auto op = term.find("==\"");
            if (op == std::string::npos)
                continue; // the GOTO
            terms_.emplace_back(term.substr(0, op), term.substr(op + 3, term.size() - op - 4));
        }
    }

    bool matches(const DeviceFacts& device) const
    {
        for (const auto& [key, patterns] : terms_) {
            if (!any_matches(patterns, value_of(key, device)))
                return false;
        }
        return true;
    }

private:
    static std::string hex(unsigned value, int digits)
    {
        char text[16];
        std::snprintf(text, sizeof text, "0x%0*x", digits, value);
        return text;
    }

    // The sysfs attribute text udev compares against.
    static std::string value_of(const std::string& key, const DeviceFacts& device)
    {
        if (key == "KERNEL")
            return device.address;
        if (key == "ATTR{vendor}")
            return hex(device.vendor_id, 4);
        if (key == "ATTR{device}")
            return hex(device.device_id, 4);
        if (key == "ATTR{subsystem_vendor}")
            return hex(device.subsystem_vendor_id, 4);
        if (key == "ATTR{subsystem_device}")
            return hex(device.subsystem_device_id, 4);
        if (key == "ATTR{class}")
            return hex(device.class_code, 6);
        ADD_FAILURE() << "generated rule matches on an unexpected key " << key;
        return {};
    }

    static bool any_matches(const std::string& patterns, const std::string& value)
    {
        std::stringstream stream(patterns);
        std::string pattern;
        while (std::getline(stream, pattern, '|')) {
            if (::fnmatch(pattern.c_str(), value.c_str(), 0) == 0)
                return true;
        }
        return false;
    }

    std::vector<std::pair<std::string, std::string>> terms_;
};

std::vector<UdevMatchLine> match_lines(const std::string& rules)
{
    std::vector<UdevMatchLine> lines;
    std::stringstream stream(rules);
    std::string line;
    while (std::getline(stream, line)) {
        if (line.find("GOTO=\"wcbroker_autobind\"") != std::string::npos)
            lines.emplace_back(line);
    }
    return lines;
}

bool udev_would_bind(const std::vector<UdevMatchLine>& lines, const DeviceFacts& device)
{
    for (const UdevMatchLine& line : lines) {
        if (line.matches(device))
            return true;
    }
    return false;
}

// Would any rule of the policy select this device once it is on vfio-pci?
bool policy_selects(const Policy& policy, DeviceFacts device)
{
    device.driver = "vfio-pci";
    for (const Rule& rule : policy.rules) {
        if (rule_device_matches(policy, rule, device))
            return true;
    }
    return false;
}

std::vector<DeviceFacts> device_grid()
{
    std::vector<DeviceFacts> grid;
    const std::uint16_t vendors[] = {0x8086, 0x15b3, 0x1d0f};
    const std::uint16_t devices[] = {0x1572, 0x1017, 0x101b, 0xec20};
    const std::uint32_t classes[] = {0x020000, 0x010802, 0x020001, 0x0c0330};
    const char* addresses[] = {"0000:3b:00.0", "0000:3b:00.1", "0000:5e:00.0", "0001:3b:00.0"};
    for (auto vendor : vendors)
        for (auto device : devices)
            for (auto class_code : classes)
                for (const char* address : addresses) {
                    DeviceFacts facts = nic_facts(address);
                    facts.vendor_id = vendor;
                    facts.device_id = device;
                    facts.class_code = class_code;
                    facts.driver = "ixgbe";
                    grid.push_back(facts);
                }
    return grid;
}

TEST(AutobindRules, BindExactlyTheDevicesThePolicySelects)
{
    const LoadResult loaded = load_text(R"(
version = 1
[selector.mlx]
vendor = 0x15b3
device = [0x1017, 0x101b]
address = "0000:3b:*.*"
[selector.nvme-any-vendor-here]
address = ["0000:5e:00.?", "0001:*:*.*"]
class = 0x010802
[selector.intel-nic]
vendor = 0x8086
class = 0x020000
class_mask = 0xff0000
[[rule]]
name = "nics"
devices = ["mlx", "intel-nic"]
bar = 0
ranges = "all"
access = "uncached"
users = ["alice"]
[[rule]]
name = "nvme"
devices = ["nvme-any-vendor-here"]
bar = 0
ranges = "all"
access = "uncached"
users = ["alice"]
)");
    ASSERT_TRUE(loaded.policy) << ::testing::PrintToString(rendered(loaded));
    const Policy& policy = *loaded.policy;
    const auto rules = make_autobind_rules(policy);
    EXPECT_EQ(rules.selectors_bound, 3u);
    EXPECT_TRUE(rules.skipped.empty());
    const auto lines = match_lines(rules.text);
    ASSERT_EQ(lines.size(), 3u) << rules.text;

    std::size_t bound = 0;
    for (const DeviceFacts& device : device_grid()) {
        const bool expected = policy_selects(policy, device);
        EXPECT_EQ(udev_would_bind(lines, device), expected)
            << device.address << " " << std::hex << device.vendor_id << ":" << device.device_id << " class "
            << device.class_code << "\n"
            << rules.text;
        bound += expected ? 1 : 0;
    }
    EXPECT_GT(bound, 10u); // the grid does exercise the matching side
}

TEST(AutobindRules, OverBroadSelectorsAreLeftOutWithTheReason)
{
    const LoadResult loaded = load_text(R"(
version = 1
[selector.by-group]
vendor = 0x8086
iommu_group = 7
[selector.every-nvme]
class = 0x010802
[selector.uio]
vendor = 0x8086
driver = "uio_pci_generic"
[selector.unused]
vendor = 0x1d0f
[[rule]]
name = "broad"
devices = ["by-group", "every-nvme", "uio"]
bar = 0
ranges = "all"
access = "uncached"
users = ["alice"]
)");
    ASSERT_TRUE(loaded.policy) << ::testing::PrintToString(rendered(loaded));
    const auto rules = make_autobind_rules(*loaded.policy);
    EXPECT_EQ(rules.selectors_bound, 0u);
    ASSERT_EQ(rules.skipped.size(), 3u);
    EXPECT_NE(rules.skipped[0].find("\"by-group\""), std::string::npos);
    EXPECT_NE(rules.skipped[0].find("IOMMU group"), std::string::npos);
    EXPECT_NE(rules.skipped[1].find("\"every-nvme\""), std::string::npos);
    EXPECT_NE(rules.skipped[1].find("neither a vendor id nor an address"), std::string::npos);
    EXPECT_NE(rules.skipped[2].find("uio_pci_generic"), std::string::npos);
    EXPECT_TRUE(match_lines(rules.text).empty()) << rules.text;
    // A selector no rule uses binds nothing and is not mentioned.
    EXPECT_EQ(rules.text.find("unused"), std::string::npos);
    EXPECT_NE(rules.text.find("nothing is bound"), std::string::npos);
}

TEST(AutobindRules, AVendorAloneIsTooBroadToBind)
{
    const LoadResult loaded = load_text(R"(
version = 1
[selector.every-intel]
vendor = 0x8086
[selector.every-intel-of-a-subsystem]
vendor = 0x8086
subsystem_vendor = 0x8086
[selector.intel-x710]
vendor = 0x8086
device = 0x1572
[[rule]]
name = "intel"
devices = ["every-intel", "every-intel-of-a-subsystem", "intel-x710"]
bar = 0
ranges = "all"
access = "uncached"
users = ["alice"]
)");
    ASSERT_TRUE(loaded.policy) << ::testing::PrintToString(rendered(loaded));
    const auto rules = make_autobind_rules(*loaded.policy);
    EXPECT_EQ(rules.selectors_bound, 1u);
    ASSERT_EQ(rules.skipped.size(), 2u);
    EXPECT_NE(rules.skipped[0].find("\"every-intel\""), std::string::npos);
    EXPECT_NE(rules.skipped[0].find("names only a vendor"), std::string::npos);
    EXPECT_NE(rules.skipped[1].find("\"every-intel-of-a-subsystem\""), std::string::npos);
    const auto lines = match_lines(rules.text);
    ASSERT_EQ(lines.size(), 1u) << rules.text;
    EXPECT_NE(rules.text.find(R"(ATTR{vendor}=="0x8086", ATTR{device}=="0x1572", GOTO="wcbroker_autobind")"),
        std::string::npos)
        << rules.text;
}

TEST(AutobindRules, ABoundDriverIsLeftAloneUnlessAskedFor)
{
    const LoadResult loaded = load_text("version = 1\n");
    ASSERT_TRUE(loaded.policy) << ::testing::PrintToString(rendered(loaded));
    const std::string by_default = make_autobind_rules(*loaded.policy).text;
    EXPECT_EQ(by_default.find("/unbind"), std::string::npos) << by_default;
    EXPECT_NE(by_default.find("if [ ! -e /sys/bus/pci/devices/$kernel/driver ]; then echo $kernel > "
                              "/sys/bus/pci/drivers_probe; fi"),
        std::string::npos)
        << by_default;

    const std::string taking = make_autobind_rules(*loaded.policy, {.unbind_bound_drivers = true}).text;
    EXPECT_NE(taking.find("echo $kernel > /sys/bus/pci/devices/$kernel/driver/unbind"), std::string::npos) << taking;
    EXPECT_NE(taking.find("--unbind-bound-drivers"), std::string::npos);
}

TEST(AutobindRules, InlineSelectorsAreNamedByTheirRule)
{
    const LoadResult loaded = load_text(R"(
version = 1
[[rule]]
name = "spdk"
device = { vendor = 0x144d, device = 0xa808 }
bar = 0
ranges = "all"
access = "uncached"
users = ["alice"]
)");
    ASSERT_TRUE(loaded.policy) << ::testing::PrintToString(rendered(loaded));
    const auto rules = make_autobind_rules(*loaded.policy);
    EXPECT_EQ(rules.selectors_bound, 1u);
    EXPECT_NE(rules.text.find("# the devices of rule 'spdk' (policy.toml:"), std::string::npos) << rules.text;
    EXPECT_NE(rules.text.find(R"(ATTR{vendor}=="0x144d", ATTR{device}=="0xa808", GOTO="wcbroker_autobind")"),
        std::string::npos)
        << rules.text;
}

TEST(AutobindRules, TheBindingStepSetsDriverOverrideAndReprobes)
{
    const LoadResult loaded = load_text("version = 1\n");
    ASSERT_TRUE(loaded.policy) << ::testing::PrintToString(rendered(loaded));
    const std::string text = make_autobind_rules(*loaded.policy).text;
    EXPECT_NE(text.find(R"(ACTION!="add", GOTO="wcbroker_autobind_end")"), std::string::npos);
    EXPECT_NE(text.find(R"(ATTR{driver_override}="vfio-pci")"), std::string::npos);
    EXPECT_NE(text.find("/sys/bus/pci/drivers_probe"), std::string::npos);
}

TEST(ClassGlob, FullMaskIsExactAndZeroNibblesAreWildcards)
{
    EXPECT_EQ(class_glob(0x010802, 0xffffff), "0x010802");
    EXPECT_EQ(class_glob(0x020000, 0xff0000), "0x02????");
    EXPECT_EQ(class_glob(0x0c0330, 0xfffff0), "0x0c033?");
}

TEST(ClassGlob, PartialNibbleBecomesTheSetOfDigitsThatAgreeUnderTheMask)
{
    EXPECT_EQ(class_glob(0x000001, 0x000001), "0x?????[13579bdf]");
    EXPECT_EQ(class_glob(0x000080, 0x0000c0), "0x????[89ab]?");
    // Every digit admitted by the glob agrees with the value under the mask.
    for (unsigned digit = 0; digit < 16; ++digit) {
        const bool in_glob = (digit & 0xc) == 0x8;
        const std::string text = "0x0000" + std::string(1, "0123456789abcdef"[digit]) + "0";
        EXPECT_EQ(::fnmatch(class_glob(0x000080, 0x0000c0).c_str(), text.c_str(), 0) == 0, in_glob) << text;
    }
}

} // namespace
} // namespace wcbroker::test
