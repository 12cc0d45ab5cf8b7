// Reading device facts from a fake sysfs tree under a temporary root.

#include "sysfs-pci-reader.hpp"

#include "fake-sysfs.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace wcbroker {
namespace {

namespace fs = std::filesystem;

class FakeSysfs : public ::testing::Test {
protected:
    void SetUp() override
    {
        char pattern[] = "/tmp/wcbroker-sysfs-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
        const test::FakeSysfs sysfs(root_);
        device_ = sysfs.add({.address = "0000:00:03.0",
            .numa_node = -1,
            .resource = test::ivshmem_resource,
            .resource_files = {"resource0", "resource2", "resource2_wc"},
            .driver = "vfio-pci",
            .iommu_group = 3});
        // Its IOMMU group's other member, unbound.
        sysfs.add({.address = "0000:00:03.1", .resource = test::ivshmem_resource, .iommu_group = 3});
    }
    void TearDown() override { fs::remove_all(root_); }

    void write(const std::string& name, const std::string& text) { std::ofstream(device_ / name) << text; }

    fs::path root_;
    fs::path device_;
};

TEST_F(FakeSysfs, ReadsEveryFact)
{
    const SysfsReadResult result = read_pci_device(KernelPaths(root_.string()), "0000:00:03.0");
    ASSERT_EQ(result.status, SysfsReadStatus::Ok) << result.problem;
    const DeviceFacts& facts = result.facts;
    EXPECT_EQ(facts.address, "0000:00:03.0");
    EXPECT_EQ(facts.vendor_id, 0x1af4);
    EXPECT_EQ(facts.device_id, 0x1110);
    EXPECT_EQ(facts.subsystem_vendor_id, 0x1af4);
    EXPECT_EQ(facts.subsystem_device_id, 0x1100);
    EXPECT_EQ(facts.class_code, 0x050000u);
    EXPECT_EQ(facts.driver, "vfio-pci");
    EXPECT_EQ(facts.iommu_group, 3u);
    EXPECT_EQ(facts.iommu_group_members, (std::vector<std::string>{"0000:00:03.0", "0000:00:03.1"}));
    EXPECT_EQ(facts.numa_node, -1);
    ASSERT_EQ(facts.bars.size(), 2u);
    EXPECT_TRUE(facts.bars[0].has_uc_file);
    EXPECT_FALSE(facts.bars[0].has_wc_file);
    EXPECT_TRUE(facts.bars[1].has_uc_file);
    EXPECT_TRUE(facts.bars[1].has_wc_file);
    EXPECT_TRUE(facts.bars[1].prefetchable);
}

TEST_F(FakeSysfs, UnboundDeviceHasNoDriver)
{
    fs::remove(device_ / "driver");
    const SysfsReadResult result = read_pci_device(KernelPaths(root_.string()), "0000:00:03.0");
    ASSERT_EQ(result.status, SysfsReadStatus::Ok);
    EXPECT_EQ(result.facts.driver, "");
}

TEST_F(FakeSysfs, MissingAttributeIsIncompleteNotGone)
{
    fs::remove(device_ / "resource");
    const SysfsReadResult result = read_pci_device(KernelPaths(root_.string()), "0000:00:03.0");
    EXPECT_EQ(result.status, SysfsReadStatus::Incomplete);
    EXPECT_EQ(result.problem, "resource: No such file or directory");
}

TEST_F(FakeSysfs, GarbledAttributeIsIncomplete)
{
    write("vendor", "banana\n");
    const SysfsReadResult result = read_pci_device(KernelPaths(root_.string()), "0000:00:03.0");
    EXPECT_EQ(result.status, SysfsReadStatus::Incomplete);
    EXPECT_EQ(result.problem, "vendor: unexpected contents \"banana\"");
}

TEST_F(FakeSysfs, RemovedDeviceIsGone)
{
    const SysfsReadResult result = read_pci_device(KernelPaths(root_.string()), "0000:00:04.0");
    EXPECT_EQ(result.status, SysfsReadStatus::Gone);
}

TEST(KernelPaths, EverythingHangsOffTheRoot)
{
    const KernelPaths paths("/tmp/fake/");
    EXPECT_EQ(paths.pci_device("0000:00:03.0"), "/tmp/fake/sys/bus/pci/devices/0000:00:03.0");
    EXPECT_EQ(paths.proc_iomem(), "/tmp/fake/proc/iomem");
    EXPECT_EQ(paths.pat_memtype_list(), "/tmp/fake/sys/kernel/debug/x86/pat_memtype_list");
    EXPECT_EQ(paths.from_syspath("/sys/devices/pci0000:00"), "/tmp/fake/sys/devices/pci0000:00");
    EXPECT_EQ(paths.from_syspath("/tmp/fake/sys/devices/x"), "/tmp/fake/sys/devices/x");
    EXPECT_EQ(KernelPaths("/").proc_iomem(), "/proc/iomem");
}

} // namespace
} // namespace wcbroker
