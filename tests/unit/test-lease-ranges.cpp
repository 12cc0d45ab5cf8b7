#include "lease-ranges.hpp"

#include <gtest/gtest.h>

namespace wcbroker::preload {
namespace {

void* at(std::uintptr_t address)
{
    return reinterpret_cast<void*>(address);
}

LeaseRanges::Handle handle(int n)
{
    return reinterpret_cast<LeaseRanges::Handle>(static_cast<std::uintptr_t>(n));
}

TEST(LeaseRanges, EmptyOverlapsNothing)
{
    LeaseRanges ranges;
    EXPECT_FALSE(ranges.may_overlap(at(0), SIZE_MAX / 2));
    EXPECT_FALSE(ranges.may_overlap(at(0x10000), 0x1000));
}

TEST(LeaseRanges, BoundsCoverEveryLease)
{
    LeaseRanges ranges;
    ranges.add(at(0x100000), 0x4000, handle(1));
    ranges.add(at(0x200000), 0x1000, handle(2));
    EXPECT_TRUE(ranges.may_overlap(at(0x100000), 0x1000));
    EXPECT_TRUE(ranges.may_overlap(at(0x0ff000), 0x2000));
    EXPECT_TRUE(ranges.may_overlap(at(0x200fff), 1));
    EXPECT_FALSE(ranges.may_overlap(at(0x0ff000), 0x1000)) << "ends where the first lease begins";
    EXPECT_FALSE(ranges.may_overlap(at(0x201000), 0x1000)) << "starts where the last lease ends";
}

TEST(LeaseRanges, ReleasedOnlyOnceWhollyUnmapped)
{
    LeaseRanges ranges;
    ranges.add(at(0x100000), 0x4000, handle(1));
    EXPECT_TRUE(ranges.unmapped(at(0x100000), 0x1000).empty());
    EXPECT_TRUE(ranges.unmapped(at(0x103000), 0x1000).empty());
    EXPECT_TRUE(ranges.unmapped(at(0x500000), 0x1000).empty()) << "elsewhere";
    EXPECT_EQ(ranges.size(), 1u);
    auto gone = ranges.unmapped(at(0x101000), 0x2000);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0], handle(1));
    EXPECT_EQ(ranges.size(), 0u);
    EXPECT_FALSE(ranges.may_overlap(at(0x100000), 0x4000));
}

TEST(LeaseRanges, OneUnmapOverAComposedBarReleasesEveryPiece)
{
    // A BAR composed of three leases, unmapped at once as DPDK does.
    LeaseRanges ranges;
    ranges.add(at(0x100000), 0x4000, handle(1));
    ranges.add(at(0x104000), 0x2000, handle(2));
    ranges.add(at(0x106000), 0xa000, handle(3));
    ranges.add(at(0x300000), 0x1000, handle(4));
    auto gone = ranges.unmapped(at(0x100000), 0x10000);
    EXPECT_EQ(gone, (std::vector<LeaseRanges::Handle>{handle(1), handle(2), handle(3)}));
    EXPECT_EQ(ranges.size(), 1u);
    EXPECT_FALSE(ranges.may_overlap(at(0x100000), 0x10000)) << "bounds shrink to what is left";
    EXPECT_TRUE(ranges.may_overlap(at(0x300000), 0x1000));
}

TEST(LeaseRanges, TakeAllEmptiesTheTable)
{
    LeaseRanges ranges;
    ranges.add(at(0x100000), 0x4000, handle(1));
    ranges.add(at(0x200000), 0x4000, handle(2));
    EXPECT_EQ(ranges.take_all().size(), 2u);
    EXPECT_EQ(ranges.size(), 0u);
    EXPECT_FALSE(ranges.may_overlap(at(0x100000), 0x200000));
}

} // namespace
} // namespace wcbroker::preload
