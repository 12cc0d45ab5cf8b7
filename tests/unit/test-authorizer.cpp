// The choke point's table, row by row.

#include "authorizer.hpp"
#include "policy-test-support.hpp"

#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

Caller caller(uid_t uid, std::string name = ":1.5")
{
    return {std::move(name), {uid, {uid}, 42, std::nullopt, std::nullopt}};
}

TEST(Authorizer, ReadingIsOpenToEveryone)
{
    for (uid_t uid : {0u, 1000u, 65534u}) {
        EXPECT_TRUE(authorize(caller(uid), action::ListDevices{}).allowed);
        EXPECT_TRUE(authorize(caller(uid), action::ListLeases{}).allowed);
        EXPECT_TRUE(authorize(caller(uid), action::Explain{}).allowed);
        EXPECT_TRUE(authorize(caller(uid), action::ListGrants{}).allowed);
    }
}

TEST(Authorizer, ReloadIsRootOnly)
{
    EXPECT_TRUE(authorize(caller(0), action::Reload{}).allowed);
    const Verdict verdict = authorize(caller(1000), action::Reload{});
    EXPECT_FALSE(verdict.allowed);
    EXPECT_EQ(verdict.reason, "only root can reload the policy (uid 1000 asked); run 'sudo wcbrokerctl reload'");
}

TEST(Authorizer, ReleaseIsForTheOwningConnectionOrRoot)
{
    Lease lease;
    lease.id = 7;
    lease.owner = ":1.5";
    lease.holder.uid = 1000;
    EXPECT_TRUE(authorize(caller(1000, ":1.5"), action::Release{&lease}).allowed);
    EXPECT_TRUE(authorize(caller(0, ":1.9"), action::Release{&lease}).allowed);
    // Same uid, another connection: not the owner. Leases belong to connections.
    const Verdict other = authorize(caller(1000, ":1.6"), action::Release{&lease});
    EXPECT_FALSE(other.allowed);
    EXPECT_EQ(other.reason, "lease 7 belongs to :1.5 (uid 1000); only its owner or root can release it");
    EXPECT_FALSE(authorize(caller(0), action::Release{nullptr}).allowed);
}

TEST(Authorizer, AcquireIsWhateverThePolicySays)
{
    const LoadResult loaded = load_text(R"(version = 1
[[rule]]
name = "r"
device = { vendor = 0x8086 }
bar = 2
ranges = "all"
access = "write-combine"
users = [1000]
)");
    ASSERT_NE(loaded.policy, nullptr);
    const DeviceFacts facts = nic_facts();
    const AccessRequest request{2, 0, 4096, Access::WriteCombine};
    const Verdict allowed = authorize(caller(1000), action::Acquire{loaded.policy.get(), &facts, request});
    EXPECT_TRUE(allowed.allowed);
    ASSERT_TRUE(allowed.policy);
    ASSERT_EQ(allowed.policy->allowing_rules.size(), 1u);
    EXPECT_EQ(allowed.policy->allowing_rules[0]->name, "r");
    // Root is not special to the policy: default deny applies to uid 0 too.
    const Verdict root = authorize(caller(0), action::Acquire{loaded.policy.get(), &facts, request});
    EXPECT_FALSE(root.allowed);
    EXPECT_NE(root.reason.find("no rule grants write-combine"), std::string::npos);
    EXPECT_FALSE(authorize(caller(1000), action::Acquire{nullptr, &facts, request}).allowed);
}

} // namespace
} // namespace wcbroker::test
