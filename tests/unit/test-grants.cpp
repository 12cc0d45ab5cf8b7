// grants_for(): the ranges of one BAR the policy grants one caller, which
// the preload shim composes a BAR mapping from.

#include "grants.hpp"

#include "evaluator.hpp"
#include "policy-test-support.hpp"

#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

// virtio-net's BAR4 as a DPDK user needs it (here BAR 2): the notify page
// write-combining, the registers around it uncached; whole-BAR rules on BAR
// 0. (The loader refuses WC and UC rules that overlap on one device's BAR.)
const std::string policy_text = R"(version = 1
[selector.nic]
vendor = 0x8086

[[rule]]
name = "notify-wc"
devices = ["nic"]
bar = 2
ranges = [ { offset = "12KiB", length = "4KiB" } ]
access = "write-combine"
users = ["alice"]

[[rule]]
name = "registers-uc"
devices = ["nic"]
bar = 2
ranges = [ { offset = 0, length = "12KiB" }, { offset = "16KiB", length = "2MiB" } ]
access = "uncached"
users = ["alice"]

[[rule]]
name = "spdk-all"
devices = ["nic"]
bar = 0
ranges = "all"
access = "uncached"
groups = ["spdk"]

[[rule]]
name = "bar0-bob"
devices = ["nic"]
bar = 0
ranges = "all"
access = "uncached"
users = ["bob"]
)";

class Grants : public ::testing::Test {
protected:
    void SetUp() override
    {
        result_ = load_text(policy_text);
        ASSERT_NE(result_.policy, nullptr) << ::testing::PrintToString(rendered(result_));
    }

    std::vector<Grant> grants(uid_t uid, std::vector<gid_t> gids, std::uint32_t bar) const
    {
        CallerIdentity caller;
        caller.uid = uid;
        caller.gids = std::move(gids);
        return grants_for(*result_.policy, nic_facts(), caller, bar);
    }

    LoadResult result_;
};

TEST_F(Grants, EveryRangeOfEveryRuleNamingTheCallerInMergeOrder)
{
    const auto found = grants(1000, {1000}, 2);
    ASSERT_EQ(found.size(), 3u);
    EXPECT_EQ(found[0].rule->name, "notify-wc");
    EXPECT_EQ(found[0].access, Access::WriteCombine);
    EXPECT_EQ(found[0].range.offset, 12u << 10);
    EXPECT_EQ(found[0].range.length, 4u << 10);
    EXPECT_EQ(found[1].rule->name, "registers-uc");
    EXPECT_EQ(found[1].access, Access::Uncached);
    EXPECT_EQ(found[1].range.offset, 0u);
    EXPECT_EQ(found[1].range.length, 12u << 10);
    EXPECT_EQ(found[2].range.offset, 16u << 10);
}

TEST_F(Grants, RangesAreClippedToTheBar)
{
    // registers-uc's second range runs 2 MiB past a 1 MiB BAR.
    const auto found = grants(1000, {1000}, 2);
    ASSERT_EQ(found.size(), 3u);
    EXPECT_EQ(found[2].range.end(), 1u << 20);
}

TEST_F(Grants, WholeBarRulesGiveTheBarsSize)
{
    const auto found = grants(1200, {2100}, 0);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].rule->name, "spdk-all");
    EXPECT_EQ(found[0].range.offset, 0u);
    EXPECT_EQ(found[0].range.length, 16u << 10);
}

TEST_F(Grants, NothingForACallerNoRuleNames)
{
    EXPECT_TRUE(grants(1001, {1001}, 2).empty());
    EXPECT_TRUE(grants(1000, {1000}, 0).empty());
}

TEST_F(Grants, NothingForAnotherBarOrADeviceNoSelectorMatches)
{
    EXPECT_EQ(grants(1001, {1001}, 0).size(), 1u);
    EXPECT_TRUE(grants(1001, {1001}, 4).empty()); // no such BAR
    DeviceFacts other = nic_facts();
    other.vendor_id = 0x15b3;
    CallerIdentity alice;
    alice.uid = 1000;
    EXPECT_TRUE(grants_for(*result_.policy, other, alice, 2).empty());
}

TEST_F(Grants, AgreeWithTheEvaluatorOnEveryGrantedRange)
{
    CallerIdentity alice;
    alice.uid = 1000;
    for (const Grant& grant : grants(1000, {1000}, 2)) {
        const Decision decision = evaluate(*result_.policy, nic_facts(), alice,
            {2, grant.range.offset, grant.range.length, grant.access});
        EXPECT_TRUE(decision.allowed) << grant.rule->name;
        EXPECT_EQ(decision.rule(), grant.rule);
    }
}

} // namespace
} // namespace wcbroker::test
