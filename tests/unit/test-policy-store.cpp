// Validate-then-swap: a bad candidate never replaces the policy in force.

#include "policy-store.hpp"
#include "policy-test-support.hpp"

#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

const std::string good = R"(version = 1
[[rule]]
name = "a"
device = { vendor = 1 }
bar = 0
ranges = "all"
access = "uncached"
users = [1]
)";

TEST(PolicyStore, StartsEmptyAtGenerationZero)
{
    PolicyStore store;
    ASSERT_NE(store.current(), nullptr);
    EXPECT_TRUE(store.current()->rules.empty());
    EXPECT_EQ(store.generation(), 0u);
}

TEST(PolicyStore, GoodCandidateSwapsAndBumpsTheGeneration)
{
    PolicyStore store;
    const ReloadOutcome outcome = store.offer(load_text(good));
    EXPECT_TRUE(outcome.applied);
    EXPECT_EQ(outcome.generation, 1u);
    EXPECT_EQ(store.generation(), 1u);
    EXPECT_EQ(store.current()->rules.size(), 1u);
}

TEST(PolicyStore, BadCandidateKeepsTheOldPolicyAndGeneration)
{
    PolicyStore store;
    store.offer(load_text(good));
    const std::shared_ptr<const Policy> before = store.current();

    const ReloadOutcome outcome = store.offer(load_text("version = 1\nmode = \"chaos\"\n"));
    EXPECT_FALSE(outcome.applied);
    EXPECT_EQ(outcome.generation, 1u);
    EXPECT_EQ(outcome.diagnostics.error_count(), 1u);
    EXPECT_EQ(store.current(), before);
    EXPECT_EQ(store.generation(), 1u);
}

TEST(PolicyStore, OldPolicyStaysAliveForWhoeverHoldsIt)
{
    PolicyStore store;
    store.offer(load_text(good));
    std::shared_ptr<const Policy> held = store.current();
    store.offer(load_text("version = 1\n"));
    EXPECT_EQ(store.generation(), 2u);
    EXPECT_EQ(held->rules.size(), 1u);
    EXPECT_TRUE(store.current()->rules.empty());
}

} // namespace
} // namespace wcbroker::test
