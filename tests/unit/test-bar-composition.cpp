#include "bar-composition.hpp"

#include <gtest/gtest.h>

namespace wcbroker::preload {
namespace {

constexpr std::uint64_t page = 0x1000;
constexpr Access wc = Access::WriteCombine;
constexpr Access uc = Access::Uncached;

std::optional<std::vector<BarSpan>> compose(std::uint64_t offset, std::uint64_t length, std::vector<BarSpan> grants)
{
    return compose_bar_map(offset, length, grants, page);
}

TEST(BarComposition, WholeBarGrantedWriteCombiningIsOnePiece)
{
    auto pieces = compose(0, 0x100000, {{0, 0x100000, wc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0, 0x100000, wc}}));
}

TEST(BarComposition, SubRangeOfALargerGrantIsCutToTheRange)
{
    // A sparse map: DPDK maps the part of the BAR after an MSI-X table.
    auto pieces = compose(0x3000, 0x5000, {{0, 0x10000, uc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0x3000, 0x5000, uc}}));
}

TEST(BarComposition, WriteCombiningWinsOverUncachedAndUncachedFillsAround)
{
    // Registers uncached, a WC doorbell page in the middle (mlx5 BlueFlame).
    auto pieces = compose(0, 0x10000, {{0, 0x10000, uc}, {0x4000, 0x2000, wc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0, 0x4000, uc}, {0x4000, 0x2000, wc}, {0x6000, 0xa000, uc}}));
}

TEST(BarComposition, UngrantedPageMeansFallBack)
{
    EXPECT_FALSE(compose(0, 0x10000, {{0, 0x8000, wc}}));
    EXPECT_FALSE(compose(0, 0x10000, {{0x1000, 0xf000, wc}}));
    EXPECT_FALSE(compose(0, 0x10000, {{0, 0x4000, wc}, {0x5000, 0xb000, uc}}));
    EXPECT_FALSE(compose(0, 0x10000, {}));
}

TEST(BarComposition, NothingBeyondTheMappedRangeIsNeeded)
{
    // A sparse piece whose grant covers only that piece.
    auto pieces = compose(0x8000, 0x8000, {{0x8000, 0x8000, wc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0x8000, 0x8000, wc}}));
}

TEST(BarComposition, EachPieceLiesInsideOneGrant)
{
    // Two adjacent WC rules: two leases, never one spanning both rules.
    auto pieces = compose(0, 0x8000, {{0, 0x4000, wc}, {0x4000, 0x4000, wc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0, 0x4000, wc}, {0x4000, 0x4000, wc}}));
}

TEST(BarComposition, OverlappingGrantsTakeTheFarthestReach)
{
    auto pieces = compose(0, 0xc000, {{0, 0x8000, wc}, {0x2000, 0xa000, wc}, {0, 0x3000, wc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0, 0x8000, wc}, {0x8000, 0x4000, wc}}));
    // Overlapping uncached grants are stitched the same way, and stop where
    // a WC grant begins.
    pieces = compose(0, 0x10000, {{0, 0x6000, uc}, {0x4000, 0xc000, uc}, {0xe000, 0x2000, wc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0, 0x6000, uc}, {0x6000, 0x8000, uc}, {0xe000, 0x2000, wc}}));
}

TEST(BarComposition, UnalignedGrantsCountOnlyTheirWholePages)
{
    // WC on a page and a half: the half page is not WC; here UC covers it.
    auto pieces = compose(0, 0x4000, {{0, 0x4000, uc}, {0x1000, 0x1800, wc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0, 0x1000, uc}, {0x1000, 0x1000, wc}, {0x2000, 0x2000, uc}}));
    // Without UC underneath, the half page is not granted at all.
    EXPECT_FALSE(compose(0x1000, 0x2000, {{0x1000, 0x1800, wc}}));
    // Less than a page: nothing.
    EXPECT_FALSE(compose(0, 0x1000, {{0x10, 0xff0, wc}}));
    // An unaligned start rounds up.
    EXPECT_FALSE(compose(0, 0x2000, {{0x800, 0x1800, wc}}));
    pieces = compose(0x1000, 0x1000, {{0x800, 0x1800, wc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0x1000, 0x1000, wc}}));
}

TEST(BarComposition, RefusesEmptyOrUnalignedRanges)
{
    EXPECT_FALSE(compose(0, 0, {{0, 0x10000, wc}}));
    EXPECT_FALSE(compose(0x800, 0x1000, {{0, 0x10000, wc}}));
    EXPECT_FALSE(compose(0, 0x1800, {{0, 0x10000, wc}}));
    EXPECT_FALSE(compose_bar_map(0, 0x1000, std::vector<BarSpan>{{0, 0x10000, wc}}, 0));
}

TEST(BarComposition, HugeGrantsDoNotOverflow)
{
    const std::uint64_t max = UINT64_MAX;
    auto pieces = compose(0x10000, 0x1000, {{0, max, wc}});
    ASSERT_TRUE(pieces);
    EXPECT_EQ(*pieces, (std::vector<BarSpan>{{0x10000, 0x1000, wc}}));
    EXPECT_FALSE(compose(0, 0x1000, {{max - 0x10, 0x100, wc}}));
    EXPECT_FALSE(compose(max - 0xfff, 0x1000, {{0, max, wc}}));
}

} // namespace
} // namespace wcbroker::preload
