#include "pci-resource-file.hpp"

#include <gtest/gtest.h>

namespace wcbroker {
namespace {

// An ivshmem-plain device under QEMU: BAR0 4 KiB 32-bit, BAR2 1 MiB
// 64-bit prefetchable (its upper half is the empty line 3), then the ROM.
const char* ivshmem =
    "0x00000000febd1000 0x00000000febd1fff 0x0000000000040200\n"
    "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
    "0x00000000fea00000 0x00000000feafffff 0x000000000014220c\n"
    "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
    "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
    "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
    "0x00000000feb80000 0x00000000febbffff 0x0000000000046200\n";

TEST(PciResourceFile, ParsesBarsAndSkipsEmptyOnes)
{
    auto bars = parse_pci_resource_file(ivshmem);
    ASSERT_TRUE(bars);
    ASSERT_EQ(bars->size(), 2u);
    EXPECT_EQ((*bars)[0].index, 0u);
    EXPECT_EQ((*bars)[0].start, 0xfebd1000u);
    EXPECT_EQ((*bars)[0].size, 0x1000u);
    EXPECT_EQ((*bars)[0].kind, BarKind::Memory32);
    EXPECT_FALSE((*bars)[0].prefetchable);
    EXPECT_EQ((*bars)[1].index, 2u);
    EXPECT_EQ((*bars)[1].size, 0x100000u);
    EXPECT_EQ((*bars)[1].kind, BarKind::Memory64);
    EXPECT_TRUE((*bars)[1].prefetchable);
    EXPECT_EQ((*bars)[1].flags, 0x14220cu);
}

TEST(PciResourceFile, IgnoresTheRomAndBridgeWindows)
{
    auto bars = parse_pci_resource_file(ivshmem);
    ASSERT_TRUE(bars);
    for (const BarFacts& bar : *bars)
        EXPECT_LT(bar.index, 6u);
}

TEST(PciResourceFile, ClassifiesIoBars)
{
    auto bars = parse_pci_resource_file("0x000000000000c000 0x000000000000c03f 0x0000000000040101\n");
    ASSERT_TRUE(bars);
    ASSERT_EQ(bars->size(), 1u);
    EXPECT_EQ((*bars)[0].kind, BarKind::Io);
    EXPECT_FALSE((*bars)[0].prefetchable);
    EXPECT_FALSE((*bars)[0].is_memory());
}

TEST(PciResourceFile, RefusesMalformedLines)
{
    EXPECT_FALSE(parse_pci_resource_file("garbage\n"));
    EXPECT_FALSE(parse_pci_resource_file("0x1000 0x0fff 0x200\n")); // end before start
    EXPECT_FALSE(parse_pci_resource_file("0x1000 0x1fff\n"));
    EXPECT_FALSE(parse_pci_resource_file("0x1000 0x1fff 0x200 extra\n"));
    EXPECT_FALSE(parse_pci_resource_file("1000 1fff 200\n"));
}

TEST(PciResourceFile, EmptyFileHasNoBars)
{
    auto bars = parse_pci_resource_file("");
    ASSERT_TRUE(bars);
    EXPECT_TRUE(bars->empty());
}

} // namespace
} // namespace wcbroker
