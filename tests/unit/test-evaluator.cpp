// Decisions: allow/deny, the rule that decides, the nearest miss and why,
// audit mode, and the index agreeing with the plain scan.

#include "evaluator.hpp"
#include "policy-test-support.hpp"

#include <gtest/gtest.h>
#include <random>

namespace wcbroker::test {
namespace {

const std::string policy_text = R"(version = 1
[selector.nic]
vendor = 0x8086
device = 0x1572

[selector.lab]
address = "0000:3b:*.*"

[[rule]]
name = "nic-wc"
devices = ["nic"]
bar = 2
ranges = [ { offset = 0, length = "64KiB" } ]
access = "write-combine"
users = ["alice"]
groups = ["dpdk"]
max_leases = 2

[[rule]]
name = "nic-uc"
devices = ["nic"]
bar = 2
ranges = [ { offset = "64KiB", length = "64KiB" } ]
access = "uncached"
groups = ["dpdk"]

[[rule]]
name = "lab-bar0"
devices = ["lab"]
bar = 0
ranges = "all"
access = "uncached"
users = ["bob"]
units = ["lab-*.service"]
cgroups = ["/system.slice"]
)";

class Evaluator : public ::testing::Test {
protected:
    void SetUp() override
    {
        result_ = load_text(policy_text);
        ASSERT_NE(result_.policy, nullptr) << ::testing::PrintToString(rendered(result_));
    }

    struct Outcome {
        Decision decision;
        Explanation words;
    };

    // Decides with both evaluators, checks they agree, and explains.
    Outcome decide(const CallerIdentity& caller, AccessRequest request, const DeviceFacts& facts = nic_facts())
    {
        Decision indexed = evaluate(*result_.policy, facts, caller, request);
        Decision scanned = evaluate_by_scan(*result_.policy, facts, caller, request);
        EXPECT_EQ(indexed.allowed, scanned.allowed);
        EXPECT_EQ(indexed.refusal, scanned.refusal);
        EXPECT_EQ(indexed.allowing_rules, scanned.allowing_rules);
        EXPECT_EQ(indexed.nearest, scanned.nearest);
        return {indexed, explain(*result_.policy, indexed, facts, caller, request)};
    }

    static CallerIdentity alice() { return {1000, {1000}, 42, std::nullopt, std::nullopt}; }
    static CallerIdentity carol_in_dpdk() { return {1002, {1002, 2000}, 43, std::nullopt, std::nullopt}; }
    static CallerIdentity mallory() { return {1666, {1666}, 44, std::nullopt, std::nullopt}; }
    static CallerIdentity bob_in_unit()
    {
        return {1001, {1001}, 45, "lab-tx.service", "/system.slice/lab-tx.service"};
    }

    LoadResult result_;
};

TEST_F(Evaluator, AllowsTheNamedUserInsideTheRange)
{
    const auto [d, words] = decide(alice(), {2, 0, 4096, Access::WriteCombine});
    EXPECT_TRUE(d.allowed);
    EXPECT_TRUE(d.enforced);
    EXPECT_TRUE(d.granted());
    ASSERT_NE(d.rule(), nullptr);
    EXPECT_EQ(d.rule()->name, "nic-wc");
    EXPECT_EQ(words.reason,
        "rule 'nic-wc' (policy.toml:9:1) grants write-combine on 0000:3b:00.0 BAR 2 [0x0, +4KiB) to uid 1000 (gids "
        "1000)");
}

TEST_F(Evaluator, ACallerWhoIsNotRootLearnsTheVerdictAndTheRuleNameOnly)
{
    const AccessRequest request{2, 0, 4096, Access::WriteCombine};
    const Decision denied = evaluate(*result_.policy, nic_facts(), mallory(), request);
    const Explanation reduced =
        explain(*result_.policy, denied, nic_facts(), mallory(), request, explain_detail_for(mallory()));
    EXPECT_EQ(reduced.reason,
        "no rule grants write-combine on 0000:3b:00.0 BAR 2 [0x0, +4KiB) to uid 1666 (gids 1666); nearest is rule "
        "'nic-wc' (what it lacks is shown to root and in the audit log)");
    EXPECT_TRUE(reduced.nearest_mismatch.empty());

    const Decision allowed = evaluate(*result_.policy, nic_facts(), alice(), request);
    EXPECT_EQ(explain(*result_.policy, allowed, nic_facts(), alice(), request, explain_detail_for(alice())).reason,
        "rule 'nic-wc' grants write-combine on 0000:3b:00.0 BAR 2 [0x0, +4KiB) to uid 1000 (gids 1000)");

    const CallerIdentity root{0, {0}, 1, std::nullopt, std::nullopt};
    EXPECT_EQ(explain_detail_for(root), ExplainDetail::Full);
}

TEST_F(Evaluator, AllowsAMemberOfTheNamedGroup)
{
    EXPECT_TRUE(decide(carol_in_dpdk(), {2, 0, 64 << 10, Access::WriteCombine}).decision.allowed);
    EXPECT_TRUE(decide(carol_in_dpdk(), {2, 64 << 10, 64 << 10, Access::Uncached}).decision.allowed);
}

TEST_F(Evaluator, DeniesAStrangerAndNamesTheNearestRule)
{
    const auto [d, words] = decide(mallory(), {2, 0, 4096, Access::WriteCombine});
    EXPECT_FALSE(d.allowed);
    EXPECT_FALSE(d.granted());
    ASSERT_NE(d.nearest, nullptr);
    EXPECT_EQ(d.nearest->name, "nic-wc");
    EXPECT_EQ(words.nearest_mismatch,
        "uid 1666 is not among users alice(1000) and gids [1666] include none of groups dpdk(2000)");
    EXPECT_EQ(words.reason,
        "no rule grants write-combine on 0000:3b:00.0 BAR 2 [0x0, +4KiB) to uid 1666 (gids 1666); nearest is rule "
        "'nic-wc' (policy.toml:9:1): uid 1666 is not among users alice(1000) and gids [1666] include none of groups "
        "dpdk(2000)");
}

TEST_F(Evaluator, DeniesWrongAccessForTheRange)
{
    const auto [d, words] = decide(carol_in_dpdk(), {2, 0, 4096, Access::Uncached});
    EXPECT_FALSE(d.allowed);
    ASSERT_NE(d.nearest, nullptr);
    // Rules for the same BAR and access come first: the uncached grant is
    // the one the caller most likely meant, and its range is what differs.
    EXPECT_EQ(d.nearest->name, "nic-uc");
    EXPECT_EQ(words.nearest_mismatch,
        "the request [0x0, +4KiB) is not inside one of the granted ranges [0x10000, +64KiB)");
}

TEST_F(Evaluator, WrongAccessWithoutARuleForItNamesTheOtherAccess)
{
    const auto [d, words] = decide(alice(), {2, 0, 4096, Access::Uncached});
    EXPECT_FALSE(d.allowed);
    ASSERT_NE(d.nearest, nullptr);
    EXPECT_EQ(d.nearest->name, "nic-uc"); // same device, BAR and access, but alice is not in dpdk
    EXPECT_EQ(words.nearest_mismatch,
        "the request [0x0, +4KiB) is not inside one of the granted ranges [0x10000, +64KiB); uid 1000 is not named "
        "(the rule lists no users) and gids [1000] include none of groups dpdk(2000)");
}

TEST_F(Evaluator, DeniesARangeThatCrossesIntoAnotherRule)
{
    const auto [d, words] = decide(carol_in_dpdk(), {2, 60 << 10, 8 << 10, Access::WriteCombine});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(words.nearest_mismatch, "the request [0xf000, +8KiB) is not inside one of the granted ranges [0x0, +64KiB)");
}

TEST_F(Evaluator, DeniesTheWrongBar)
{
    const auto [d, words] = decide(alice(), {0, 0, 4096, Access::WriteCombine});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.nearest->name, "nic-wc");
    EXPECT_EQ(words.nearest_mismatch, "it covers BAR 2, not BAR 0");
}

TEST_F(Evaluator, RequestPastTheEndOfTheBarIsDeniedBeforeAnyRule)
{
    const auto [d, words] = decide(alice(), {2, 1 << 20, 4096, Access::WriteCombine});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.nearest, nullptr);
    EXPECT_EQ(words.reason, "the request [0x100000, +4KiB) goes past the end of BAR 2 (1MiB)");
}

TEST_F(Evaluator, MissingBarIsDeniedBeforeAnyRule)
{
    const auto [d, words] = decide(alice(), {4, 0, 4096, Access::WriteCombine});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(words.reason, "device 0000:3b:00.0 has no BAR 4");
}

TEST_F(Evaluator, OtherDeviceOfTheSameVendorIsDeniedWithTheSelectorsReason)
{
    DeviceFacts other = nic_facts("0000:5e:00.0");
    other.device_id = 0x10fb;
    const auto [d, words] = decide(alice(), {2, 0, 4096, Access::WriteCombine}, other);
    EXPECT_FALSE(d.allowed);
    ASSERT_NE(d.nearest, nullptr);
    EXPECT_EQ(d.nearest->name, "nic-wc");
    EXPECT_EQ(words.nearest_mismatch, "selector 'nic' wants device 0x1572, the device has 0x10fb");
}

TEST_F(Evaluator, DeviceNotOnVfioIsNeverMatched)
{
    DeviceFacts facts = nic_facts();
    facts.driver = "i40e";
    const auto [d, words] = decide(alice(), {2, 0, 4096, Access::WriteCombine}, facts);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(words.nearest_mismatch, "selector 'nic' wants driver vfio-pci, the device is bound to i40e");
}

TEST_F(Evaluator, UnitsAndCgroupsNarrowAUserRule)
{
    EXPECT_TRUE(decide(bob_in_unit(), {0, 0, 16 << 10, Access::Uncached}).decision.allowed);
}

TEST_F(Evaluator, WrongUnitIsDenied)
{
    CallerIdentity caller = bob_in_unit();
    caller.systemd_unit = "other.service";
    const auto [d, words] = decide(caller, {0, 0, 4096, Access::Uncached});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(words.nearest_mismatch, "the caller's unit other.service matches none of units lab-*.service");
}

TEST_F(Evaluator, UnknownUnitIsDenied)
{
    CallerIdentity caller = bob_in_unit();
    caller.systemd_unit.reset();
    const auto [d, words] = decide(caller, {0, 0, 4096, Access::Uncached});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(words.nearest_mismatch, "the rule wants units lab-*.service, and the caller's systemd unit is unknown");
}

TEST_F(Evaluator, CgroupPrefixStopsAtPathBoundaries)
{
    CallerIdentity caller = bob_in_unit();
    caller.cgroup = "/system.slice2/lab-tx.service";
    const auto [d, words] = decide(caller, {0, 0, 4096, Access::Uncached});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(words.nearest_mismatch, "the caller's cgroup /system.slice2/lab-tx.service is under none of /system.slice");
}

TEST_F(Evaluator, EveryAllowingRuleIsListedInOrder)
{
    const LoadResult two = load_text(R"(version = 1
[[rule]]
name = "first"
device = { vendor = 0x8086 }
bar = 2
ranges = "all"
access = "write-combine"
groups = [2000]
max_leases = 1
[[rule]]
name = "second"
device = { address = "0000:3b:00.0" }
bar = 2
ranges = [ { offset = 0, length = "4KiB" } ]
access = "write-combine"
users = [1002]
)");
    ASSERT_NE(two.policy, nullptr);
    const Decision d = evaluate(*two.policy, nic_facts(), carol_in_dpdk(), {2, 0, 4096, Access::WriteCombine});
    ASSERT_EQ(d.allowing_rules.size(), 2u);
    EXPECT_EQ(d.allowing_rules[0]->name, "first");
    EXPECT_EQ(d.allowing_rules[1]->name, "second");
}

TEST(EvaluatorAudit, AuditModeDeniesButDoesNotEnforce)
{
    const LoadResult result = load_text("version = 1\nmode = \"audit\"\n");
    ASSERT_NE(result.policy, nullptr);
    const CallerIdentity caller{1000, {1000}, 1, {}, {}};
    const AccessRequest request{2, 0, 4096, Access::WriteCombine};
    const Decision d = evaluate(*result.policy, nic_facts(), caller, request);
    EXPECT_FALSE(d.allowed);
    EXPECT_FALSE(d.enforced);
    EXPECT_TRUE(d.granted());
    EXPECT_EQ(explain(*result.policy, d, nic_facts(), caller, request).reason,
        "no rule grants write-combine on 0000:3b:00.0 BAR 2 [0x0, +4KiB) to uid 1000 (gids 1000) (audit mode: granted "
        "anyway)");
}

TEST(EvaluatorEmpty, EmptyPolicyDeniesEverything)
{
    const LoadResult result = load_text("version = 1\n");
    const Decision d = evaluate(*result.policy, nic_facts(), {0, {0}, 1, {}, {}}, {2, 0, 4096, Access::WriteCombine});
    EXPECT_FALSE(d.allowed);
    EXPECT_TRUE(d.enforced);
    EXPECT_EQ(d.nearest, nullptr);
}

TEST(EvaluatorUnresolved, UnresolvedNamesMatchNobody)
{
    const LoadResult result = load_text(R"(version = 1
[[rule]]
name = "ghost"
device = { vendor = 0x8086 }
bar = 2
ranges = "all"
access = "write-combine"
users = ["ghost"]
groups = ["ghosts"]
)", false);
    ASSERT_NE(result.policy, nullptr);
    // uid (uid_t)-1 would be what a careless "unresolved" encoding matches.
    for (uid_t uid : {0u, 1000u, 0xffffffffu}) {
        const Decision d = evaluate(*result.policy, nic_facts(), {uid, {uid}, 1, {}, {}}, {2, 0, 4096, Access::WriteCombine});
        EXPECT_FALSE(d.allowed) << uid;
    }
}

// The index must give exactly the scan's answers: random policies, random
// callers and requests, and every field of the decision compared.
TEST(EvaluatorIndex, AgreesWithTheScanOnRandomPolicies)
{
    std::mt19937 random(20261121);
    auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    for (int round = 0; round < 40; ++round) {
        std::string text = "version = 1\n";
        for (int s = 0; s < 4; ++s) {
            text += "[selector.s" + std::to_string(s) + "]\n";
            switch (pick(3)) {
            case 0:
                text += "address = \"0000:0" + std::to_string(pick(3)) + ":00.0\"\n";
                break;
            case 1:
                text += "vendor = " + std::to_string(0x8086 + pick(2)) + "\n";
                break;
            default:
                text += "address = \"0000:0[0-1]:*.*\"\n";
                break;
            }
        }
        for (int r = 0; r < 12; ++r) {
            const bool wc = pick(2) == 0;
            text += "[[rule]]\nname = \"r" + std::to_string(r) + "\"\ndevices = [\"s" + std::to_string(pick(4))
                + "\"]\nbar = " + std::to_string(pick(2) * 2) + "\naccess = \"" + (wc ? "write-combine" : "uncached")
                + "\"\n";
            // Keep write-combine and uncached pages apart, as the loader requires.
            text += wc ? "ranges = [ { offset = 0, length = \"" + std::to_string(4 * (1 + pick(4))) + "KiB\" } ]\n"
                       : "ranges = [ { offset = \"64KiB\", length = \"" + std::to_string(4 * (1 + pick(4))) + "KiB\" } ]\n";
            switch (pick(4)) {
            case 0:
                text += "users = [" + std::to_string(1000 + pick(3)) + "]\n";
                break;
            case 1:
                text += "groups = [" + std::to_string(2000 + pick(3)) + "]\n";
                break;
            case 2:
                text += "users = [" + std::to_string(1000 + pick(3)) + "]\ngroups = [" + std::to_string(2000 + pick(3)) + "]\n";
                break;
            default:
                text += "units = [\"u" + std::to_string(pick(2)) + ".service\"]\n";
                break;
            }
        }
        const LoadResult result = load_text(text);
        ASSERT_NE(result.policy, nullptr) << text << ::testing::PrintToString(rendered(result));
        for (int q = 0; q < 200; ++q) {
            DeviceFacts facts = nic_facts("0000:0" + std::to_string(pick(3)) + ":00.0");
            facts.vendor_id = static_cast<std::uint16_t>(0x8086 + pick(2));
            CallerIdentity caller{static_cast<uid_t>(1000 + pick(4)), {static_cast<gid_t>(2000 + pick(4))}, 1,
                "u" + std::to_string(pick(3)) + ".service", std::nullopt};
            AccessRequest request{static_cast<std::uint32_t>(pick(2) * 2), static_cast<std::uint64_t>(pick(24)) * 4096,
                static_cast<std::uint64_t>(1 + pick(4)) * 4096, pick(2) == 0 ? Access::WriteCombine : Access::Uncached};
            const Decision a = evaluate(*result.policy, facts, caller, request);
            const Decision b = evaluate_by_scan(*result.policy, facts, caller, request);
            ASSERT_EQ(a.allowed, b.allowed) << text;
            ASSERT_EQ(a.allowing_rules, b.allowing_rules) << text;
            ASSERT_EQ(a.nearest, b.nearest) << text;
            ASSERT_EQ(a.refusal, b.refusal) << text;
            ASSERT_EQ(explain(*result.policy, a, facts, caller, request).reason,
                explain(*result.policy, b, facts, caller, request).reason)
                << text;
        }
    }
}

} // namespace
} // namespace wcbroker::test
