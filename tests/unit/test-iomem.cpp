#include "iomem.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

namespace wcbroker {
namespace {

std::vector<IomemEntry> claimed_fixture()
{
    std::ifstream in(std::string(TEST_DATA_DIR) + "/iomem.vfio-claimed");
    std::stringstream text;
    text << in.rdbuf();
    return parse_iomem(text.str());
}

TEST(Iomem, ParsesRangesNamesAndNesting)
{
    const auto entries = claimed_fixture();
    ASSERT_EQ(entries.size(), 16u);
    EXPECT_EQ(entries[0].start, 0u);
    EXPECT_EQ(entries[0].end, 0xfffu);
    EXPECT_EQ(entries[0].name, "Reserved");
    EXPECT_EQ(entries[0].depth, 0u);
    EXPECT_EQ(entries[9].name, "0000:00:03.0");
    EXPECT_EQ(entries[9].depth, 1u);
    EXPECT_EQ(entries[10].name, "vfio-pci");
    EXPECT_EQ(entries[10].depth, 2u);
}

TEST(Iomem, FindsTheVfioClaimUnderTheBar)
{
    const auto entries = claimed_fixture();
    EXPECT_EQ(bar_claimant(entries, "0000:00:03.0", 0xfea00000, 0x100000), "vfio-pci");
}

TEST(Iomem, ARangePastTheTopOfTheAddressSpaceStillFindsTheClaim)
{
    // start + size wraps; the range must end at the top, not wrap to 0.
    const auto entries = claimed_fixture();
    EXPECT_EQ(bar_claimant(entries, "0000:00:03.0", 0xfea00000, ~std::uint64_t{0}), "vfio-pci");
}

TEST(Iomem, OtherBarsOfTheDeviceAreNotClaimed)
{
    const auto entries = claimed_fixture();
    EXPECT_EQ(bar_claimant(entries, "0000:00:03.0", 0xfeb00000, 0x40000), std::nullopt);
    EXPECT_EQ(bar_claimant(entries, "0000:00:03.0", 0xfebd1000, 0x1000), std::nullopt);
}

TEST(Iomem, ASiblingDeviceIsNotAClaim)
{
    // 0000:00:04.0 follows 0000:00:03.0's entries at the same depth.
    const auto entries = claimed_fixture();
    EXPECT_EQ(bar_claimant(entries, "0000:00:04.0", 0xfebd0000, 0x1000), std::nullopt);
}

TEST(Iomem, UnprivilegedZerosShowNoClaim)
{
    const auto entries = parse_iomem("00000000-00000000 : PCI Bus 0000:00\n  00000000-00000000 : 0000:00:03.0\n"
                                     "    00000000-00000000 : vfio-pci\n");
    EXPECT_EQ(bar_claimant(entries, "0000:00:03.0", 0xfea00000, 0x100000), std::nullopt);
}

TEST(Iomem, MalformedLinesAreSkipped)
{
    const auto entries = parse_iomem("nonsense\nfea00000 : x\nfeb00000-fea00000 : backwards\n10-20 : ok\n");
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].name, "ok");
}

// Kernels 7.x name the claim "vfio" and make it at open; 6.x "vfio-pci" at
// first use of the BAR (kernel-facts.md 3, 3b).
TEST(Iomem, SevenXClaimAtOpenIsFoundAndExplained)
{
    const auto entries = parse_iomem("fe000000-fe7fffff : PCI Bus 0000:00\n  fe000000-fe0fffff : 0000:00:03.0\n"
                                     "    fe000000-fe0fffff : vfio\n");
    const auto claimant = bar_claimant(entries, "0000:00:03.0", 0xfe000000, 0x100000);
    ASSERT_EQ(claimant, "vfio");
    EXPECT_NE(describe_claimant(*claimant).find("has the device open"), std::string::npos);
    EXPECT_NE(describe_claimant("vfio-pci").find("mapped or touched this BAR"), std::string::npos);
    EXPECT_EQ(describe_claimant("ivshmem"), "a driver other than wcbroker holds it");
}

} // namespace
} // namespace wcbroker
