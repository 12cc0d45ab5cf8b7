// Every feature of the policy language, loaded from text into the model.

#include "policy-test-support.hpp"

#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

// Returns the policy by shared pointer so it outlives a temporary LoadResult.
std::shared_ptr<const Policy> expect_valid(const LoadResult& result)
{
    EXPECT_NE(result.policy, nullptr) << ::testing::PrintToString(rendered(result));
    return result.policy ? result.policy : std::make_shared<const Policy>();
}

TEST(PolicyLoader, EmptyFileWithVersionIsAValidDenyAllPolicy)
{
    const LoadResult result = load_text("version = 1\n");
    const auto policy = expect_valid(result);
    EXPECT_TRUE(policy->rules.empty());
    EXPECT_EQ(policy->mode, EnforcementMode::Enforce);
}

TEST(PolicyLoader, GlobalsDefaultAndMode)
{
    const auto policy = expect_valid(load_text("version = 1\ndefault = \"deny\"\nmode = \"audit\"\n"));
    EXPECT_EQ(policy->mode, EnforcementMode::Audit);
}

TEST(PolicyLoader, SelectorWithEveryKey)
{
    const auto policy = expect_valid(load_text(R"(version = 1
[selector.full]
description = "all keys"
vendor = [0x8086, 0x15b3]
device = 0x1572
subsystem_vendor = 0x8086
subsystem_device = [1, 2]
class = 0x020000
class_mask = 0xff0000
address = ["0000:3B:*.*", "0001:00:02.0"]
iommu_group = [7, 8]
driver = "vfio-pci"
)"));
    ASSERT_EQ(policy->selectors.size(), 1u);
    const DeviceSelector& s = policy->selectors[0];
    EXPECT_EQ(s.name, "full");
    EXPECT_EQ(s.where.to_string(), "policy.toml:2:11");
    EXPECT_EQ(s.vendor_ids, (std::vector<std::uint16_t>{0x8086, 0x15b3}));
    EXPECT_EQ(s.device_ids, std::vector<std::uint16_t>{0x1572});
    EXPECT_EQ(s.subsystem_vendor_ids, std::vector<std::uint16_t>{0x8086});
    EXPECT_EQ(s.subsystem_device_ids, (std::vector<std::uint16_t>{1, 2}));
    ASSERT_TRUE(s.device_class);
    EXPECT_EQ(s.device_class->value, 0x020000u);
    EXPECT_EQ(s.device_class->mask, 0xff0000u);
    EXPECT_EQ(s.address_globs, (std::vector<std::string>{"0000:3b:*.*", "0001:00:02.0"}));
    EXPECT_EQ(s.iommu_groups, (std::vector<std::uint32_t>{7, 8}));
    EXPECT_EQ(s.driver, "vfio-pci");
}

TEST(PolicyLoader, ClassWithoutMaskMatchesExactly)
{
    const auto policy = expect_valid(load_text("version = 1\n[selector.nvme]\nclass = 0x010802\n"));
    EXPECT_EQ(policy->selectors[0].device_class->mask, 0xffffffu);
}

TEST(PolicyLoader, OtherDriverIsAWarningNotAnError)
{
    const LoadResult result = load_text("version = 1\n[selector.x]\nvendor = 1\ndriver = \"uio_pci_generic\"\n");
    expect_valid(result);
    ASSERT_EQ(result.diagnostics.warning_count(), 1u);
    EXPECT_NE(rendered(result)[0].find("policy.toml:4:10: warning: selector.x.driver: wcbrokerd serves only"),
        std::string::npos);
}

TEST(PolicyLoader, RuleWithEveryKey)
{
    const auto policy = expect_valid(load_text(R"(version = 1
[selector.nic]
vendor = 0x8086

[[rule]]
name = "everything"
description = "all keys at once"
devices = "nic"
bar = 4
ranges = [ { offset = 0, length = "4KiB" }, { offset = "2MiB", length = 0x200000 } ]
access = "write-combine"
users = ["alice", 1234]
groups = ["dpdk", 3000]
units = ["dpdk-*.service", "app.scope"]
cgroups = ["/system.slice/dpdk.service", "/"]
max_leases = 4
require_verified_wc = true
)"));
    ASSERT_EQ(policy->rules.size(), 1u);
    const Rule& rule = policy->rules[0];
    EXPECT_EQ(rule.name, "everything");
    EXPECT_EQ(rule.description, "all keys at once");
    EXPECT_EQ(rule.where.to_string(), "policy.toml:5:1");
    EXPECT_EQ(rule.label(), "'everything' (policy.toml:5:1)");
    EXPECT_EQ(rule.selectors, std::vector<std::size_t>{0});
    EXPECT_EQ(rule.bar, 4u);
    EXPECT_FALSE(rule.whole_bar);
    ASSERT_EQ(rule.ranges.size(), 2u);
    EXPECT_EQ(rule.ranges[0].offset, 0u);
    EXPECT_EQ(rule.ranges[0].length, 4096u);
    EXPECT_EQ(rule.ranges[1].offset, 2u << 20);
    EXPECT_EQ(rule.ranges[1].length, 2u << 20);
    EXPECT_EQ(rule.access, Access::WriteCombine);
    ASSERT_EQ(rule.users.size(), 2u);
    EXPECT_EQ(rule.users[0].name, "alice");
    EXPECT_EQ(rule.users[0].uid, 1000u);
    EXPECT_EQ(rule.users[1].name, "");
    EXPECT_EQ(rule.users[1].uid, 1234u);
    ASSERT_EQ(rule.groups.size(), 2u);
    EXPECT_EQ(rule.groups[0].gid, 2000u);
    EXPECT_EQ(rule.groups[1].gid, 3000u);
    EXPECT_EQ(rule.units, (std::vector<std::string>{"dpdk-*.service", "app.scope"}));
    EXPECT_EQ(rule.cgroups, (std::vector<std::string>{"/system.slice/dpdk.service", "/"}));
    EXPECT_EQ(rule.max_leases, 4u);
    EXPECT_TRUE(rule.require_verified_wc);
    EXPECT_FALSE(rule.require_kernel_enforced_range);
}

TEST(PolicyLoader, WholeBarAndUncached)
{
    const auto policy = expect_valid(load_text(R"(version = 1
[[rule]]
name = "uc"
device = { vendor = 0x1af4 }
bar = 0
ranges = "all"
access = "uncached"
groups = [0]
)"));
    const Rule& rule = policy->rules[0];
    EXPECT_TRUE(rule.whole_bar);
    EXPECT_TRUE(rule.ranges.empty());
    EXPECT_EQ(rule.access, Access::Uncached);
    ASSERT_EQ(policy->selectors.size(), 1u);
    EXPECT_EQ(policy->selectors[0].name, "");
    EXPECT_EQ(policy->selectors[0].vendor_ids, std::vector<std::uint16_t>{0x1af4});
}

TEST(PolicyLoader, IdenticalInlineSelectorsAreShared)
{
    const auto policy = expect_valid(load_text(R"(version = 1
[[rule]]
name = "a"
device = { vendor = 0x1af4, address = "0000:00:03.0" }
bar = 2
ranges = "all"
access = "write-combine"
users = [1]
[[rule]]
name = "b"
device = { address = "0000:00:03.0", vendor = 0x1af4 }
bar = 2
ranges = "all"
access = "write-combine"
users = [2]
)"));
    EXPECT_EQ(policy->selectors.size(), 1u);
    EXPECT_EQ(policy->rules[0].selectors, policy->rules[1].selectors);
}

TEST(PolicyLoader, AdjacentRangesAreFine)
{
    expect_valid(load_text(R"(version = 1
[[rule]]
name = "adjacent"
device = { vendor = 1 }
bar = 0
ranges = [ { offset = 0, length = 4096 }, { offset = 4096, length = 4096 } ]
access = "uncached"
users = [1]
)"));
}

TEST(PolicyLoader, PageSizeIsAnOption)
{
    LoadOptions options = fake_options();
    options.page_size = 65536; // arm64 with 64 KiB pages
    const std::string text = R"(version = 1
[[rule]]
name = "small"
device = { vendor = 1 }
bar = 0
ranges = [ { offset = 0, length = "4KiB" } ]
access = "uncached"
users = [1]
)";
    const LoadResult result = load_policy_from_texts({{"p.toml", text}}, options);
    ASSERT_EQ(result.diagnostics.error_count(), 1u);
    EXPECT_NE(rendered(result)[0].find("not a multiple of the page size (65536)"), std::string::npos);
}

TEST(PolicyLoader, UnitOnlyRuleWarnsAboutRaces)
{
    const LoadResult result = load_text(R"(version = 1
[[rule]]
name = "by-unit"
device = { vendor = 1 }
bar = 0
ranges = "all"
access = "uncached"
units = ["dpdk.service"]
)");
    expect_valid(result);
    ASSERT_EQ(result.diagnostics.warning_count(), 1u);
    EXPECT_EQ(rendered(result)[0].rfind("policy.toml:2:1: warning: rule[by-unit]: this rule trusts only units/cgroups", 0),
        0u);
}

TEST(PolicyLoader, KernelEnforcedRangeWarnsThatNothingProvidesItYet)
{
    const LoadResult result = load_text(R"(version = 1
[[rule]]
name = "strict"
device = { vendor = 1 }
bar = 0
ranges = "all"
access = "uncached"
users = [1]
require_kernel_enforced_range = true
)");
    const auto policy = expect_valid(result);
    EXPECT_TRUE(policy->rules[0].require_kernel_enforced_range);
    ASSERT_EQ(result.diagnostics.warning_count(), 1u);
    EXPECT_NE(rendered(result)[0].find("only the wcalias kernel module enforces a range"), std::string::npos);
}

TEST(PolicyLoader, CommentsUnicodeDescriptionsAndQuotedKeysAreFine)
{
    const auto policy = expect_valid(
        load_text("version = 1 # schema\n\n[selector.\"nic-a\"]\ndescription = \"na\xC3\xAFve \xE2\x9C\x93\"\nvendor = 1\n"));
    EXPECT_EQ(policy->selectors[0].name, "nic-a");
}

TEST(PolicyLoader, NonAsciiNamesAreRefused)
{
    const LoadResult result = load_text("version = 1\n[selector.\"n\xC3\xAF\"]\nvendor = 1\n");
    EXPECT_EQ(result.policy, nullptr);
}

} // namespace
} // namespace wcbroker::test
