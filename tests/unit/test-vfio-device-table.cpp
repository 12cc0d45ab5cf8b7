#include "vfio-device-table.hpp"

#include <gtest/gtest.h>
#include <memory>

namespace wcbroker::preload {
namespace {

vfio_region_info region(std::uint32_t index, std::uint64_t offset, std::uint64_t size,
    std::uint32_t flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP)
{
    vfio_region_info info{};
    info.argsz = sizeof(info);
    info.flags = flags;
    info.index = index;
    info.offset = offset;
    info.size = size;
    return info;
}

class VfioDeviceTableTest : public ::testing::Test {
protected:
    std::unique_ptr<VfioDeviceTable> table = std::make_unique<VfioDeviceTable>();
};

TEST(DeviceName, IsTheFirstWordOfGetDeviceFdsArgument)
{
    EXPECT_EQ(device_name_of("0000:00:05.0"), "0000:00:05.0");
    // DPDK appends the SR-IOV VF token after a space.
    EXPECT_EQ(device_name_of("0000:3b:02.1 vf_token=2ab74924-c335-45f4-9b16-8569e5b08258"), "0000:3b:02.1");
    EXPECT_FALSE(device_name_of(""));
    EXPECT_FALSE(device_name_of(" vf_token=x"));
}

TEST_F(VfioDeviceTableTest, FollowsOnlyTheFdsGetDeviceFdReturned)
{
    EXPECT_FALSE(table->tracked(7));
    EXPECT_TRUE(table->add_device(7, "0000:00:05.0"));
    EXPECT_TRUE(table->tracked(7));
    EXPECT_FALSE(table->tracked(8));
    EXPECT_FALSE(table->tracked(-1));
    EXPECT_FALSE(table->add_device(-1, "0000:00:05.0"));
    EXPECT_FALSE(table->add_device(VfioDeviceTable::max_fd, "0000:00:05.0"));
    EXPECT_FALSE(table->tracked(VfioDeviceTable::max_fd));
    EXPECT_FALSE(table->add_device(9, ""));
    EXPECT_FALSE(table->tracked(9));
}

TEST_F(VfioDeviceTableTest, FindsTheBarFromTheKernelsRegionOffsets)
{
    table->add_device(7, "0000:00:05.0");
    EXPECT_FALSE(table->knows_regions(7));
    // Offsets as the kernel reports them; not index << 40 on purpose.
    table->add_region(7, region(0, 0x100000, 0x4000));
    table->add_region(7, region(2, 0x900000, 0x100000));
    table->add_region(7, region(VFIO_PCI_CONFIG_REGION_INDEX, 0x2000000, 0x100));
    EXPECT_TRUE(table->knows_regions(7));

    auto whole = table->find(7, 0x900000, 0x100000);
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole->device, "0000:00:05.0");
    EXPECT_EQ(whole->bar, 2u);
    EXPECT_EQ(whole->bar_offset, 0u);
    EXPECT_EQ(whole->region.size, 0x100000u);

    // The piece after an MSI-X table.
    auto sparse = table->find(7, 0x903000, 0x2000);
    ASSERT_TRUE(sparse);
    EXPECT_EQ(sparse->bar, 2u);
    EXPECT_EQ(sparse->bar_offset, 0x3000u);

    auto bar0 = table->find(7, 0x100000, 0x1000);
    ASSERT_TRUE(bar0);
    EXPECT_EQ(bar0->bar, 0u);

    EXPECT_FALSE(table->find(7, 0x900000, 0x100001)) << "past the BAR's end";
    EXPECT_FALSE(table->find(7, 0x8ff000, 0x2000)) << "starts before the BAR";
    EXPECT_FALSE(table->find(7, 0x2000000, 0x100)) << "config space is not a BAR";
    EXPECT_FALSE(table->find(7, 0x500000, 0x1000)) << "between regions";
    EXPECT_FALSE(table->find(8, 0x900000, 0x1000)) << "another fd";
}

TEST_F(VfioDeviceTableTest, LaterRegionInfoReplacesEarlier)
{
    table->add_device(7, "0000:00:05.0");
    table->add_region(7, region(4, 0x400000, 0x1000));
    table->add_region(7, region(4, 0x400000, 0x4000));
    auto slice = table->find(7, 0x400000, 0x4000);
    ASSERT_TRUE(slice);
    EXPECT_EQ(slice->bar, 4u);
}

TEST_F(VfioDeviceTableTest, RegionInfoOfUntrackedFdsIsIgnored)
{
    table->add_region(7, region(2, 0, 0x1000));
    EXPECT_FALSE(table->tracked(7));
    EXPECT_FALSE(table->find(7, 0, 0x1000));
}

TEST_F(VfioDeviceTableTest, ZeroSizedBarsMatchNothing)
{
    table->add_device(7, "0000:00:05.0");
    table->add_region(7, region(1, 0x100000, 0));
    EXPECT_FALSE(table->find(7, 0x100000, 0));
}

TEST_F(VfioDeviceTableTest, TheFileAnFdNamedIsKeptWithIt)
{
    EXPECT_FALSE(table->identity(7));
    table->add_device(7, "0000:00:05.0", FileIdentity{0x1f, 4242});
    EXPECT_EQ(table->identity(7), (FileIdentity{0x1f, 4242}));
    table->add_device(7, "0000:00:06.0", FileIdentity{0x1f, 4343});
    EXPECT_EQ(table->identity(7), (FileIdentity{0x1f, 4343}));
    table->forget(7);
    EXPECT_FALSE(table->identity(7));
}

TEST_F(VfioDeviceTableTest, ForgetAndReuseOfAnFdNumber)
{
    table->add_device(7, "0000:00:05.0");
    table->add_region(7, region(2, 0x900000, 0x100000));
    table->forget(7);
    EXPECT_FALSE(table->tracked(7));
    EXPECT_FALSE(table->find(7, 0x900000, 0x1000));
    table->forget(7);
    table->forget(-3);

    // The number comes back for another device: nothing of the first stays.
    table->add_device(7, "0000:00:05.0");
    table->add_region(7, region(2, 0x900000, 0x100000));
    table->add_device(7, "0000:00:06.0");
    EXPECT_TRUE(table->tracked(7));
    EXPECT_FALSE(table->knows_regions(7));
    EXPECT_FALSE(table->find(7, 0x900000, 0x1000));
}

} // namespace
} // namespace wcbroker::preload
