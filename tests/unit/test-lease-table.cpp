#include "lease-table.hpp"

#include <gtest/gtest.h>

namespace wcbroker {
namespace {

Lease lease(std::uint64_t id, std::string owner, uid_t uid, std::string rule, std::uint64_t offset, Access access,
    std::string address = "0000:3b:00.0")
{
    Lease l;
    l.id = id;
    l.owner = std::move(owner);
    l.holder.uid = uid;
    l.rule = std::move(rule);
    l.address = std::move(address);
    l.request = {2, offset, 0x1000, access};
    return l;
}

TEST(LeaseTable, AddsFindsAndRemoves)
{
    LeaseTable table;
    const std::uint64_t id = table.allocate_id();
    table.add(lease(id, ":1.1", 1000, "r", 0, Access::WriteCombine));
    ASSERT_NE(table.find(id), nullptr);
    EXPECT_EQ(table.size(), 1u);
    auto removed = table.remove(id);
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->owner, ":1.1");
    EXPECT_EQ(table.find(id), nullptr);
    EXPECT_FALSE(table.remove(id));
    EXPECT_GT(table.allocate_id(), id) << "ids are never reused";
}

TEST(LeaseTable, LooksUpByOwnerAndDevice)
{
    LeaseTable table;
    table.add(lease(1, ":1.1", 1000, "r", 0, Access::WriteCombine));
    table.add(lease(2, ":1.2", 1000, "r", 0x1000, Access::WriteCombine));
    table.add(lease(3, ":1.1", 1000, "r", 0x2000, Access::WriteCombine, "0000:5e:00.0"));
    EXPECT_EQ(table.owned_by(":1.1"), (std::vector<std::uint64_t>{1, 3}));
    EXPECT_EQ(table.on_device("0000:3b:00.0"), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_TRUE(table.owned_by(":1.9").empty());
}

TEST(LeaseTable, CountsPerRuleAndUid)
{
    LeaseTable table;
    table.add(lease(1, ":1.1", 1000, "a", 0, Access::WriteCombine));
    table.add(lease(2, ":1.2", 1000, "a", 0x1000, Access::WriteCombine));
    table.add(lease(3, ":1.3", 1001, "a", 0x2000, Access::WriteCombine));
    table.add(lease(4, ":1.4", 1000, "b", 0x3000, Access::WriteCombine));
    EXPECT_EQ(table.count("a", 1000), 2u);
    EXPECT_EQ(table.count("a", 1001), 1u);
    EXPECT_EQ(table.count("b", 1000), 1u);
    EXPECT_EQ(table.count(1000), 3u);
}

TEST(LeaseTable, OnlyOverlapsOfTheOtherAccessOnTheSameBarConflict)
{
    LeaseTable table;
    table.add(lease(1, ":1.1", 1000, "a", 0x1000, Access::WriteCombine));
    const std::string device = "0000:3b:00.0";
    EXPECT_NE(table.conflicting(device, {2, 0x1000, 0x1000, Access::Uncached}), nullptr);
    EXPECT_NE(table.conflicting(device, {2, 0, 0x2000, Access::Uncached}), nullptr);
    EXPECT_EQ(table.conflicting(device, {2, 0x1000, 0x1000, Access::WriteCombine}), nullptr) << "same type shares";
    EXPECT_EQ(table.conflicting(device, {2, 0x2000, 0x1000, Access::Uncached}), nullptr) << "adjacent is fine";
    EXPECT_EQ(table.conflicting(device, {0, 0x1000, 0x1000, Access::Uncached}), nullptr) << "another BAR";
    EXPECT_EQ(table.conflicting("0000:5e:00.0", {2, 0x1000, 0x1000, Access::Uncached}), nullptr);
}

} // namespace
} // namespace wcbroker
