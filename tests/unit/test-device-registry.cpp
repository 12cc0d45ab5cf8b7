// The registry converges on the latest sysfs reading whatever order or
// repetition readings come in.

#include "device-registry.hpp"
#include "policy-test-support.hpp"

#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

SysfsReadResult ok(DeviceFacts facts)
{
    return {SysfsReadStatus::Ok, std::move(facts), ""};
}

SysfsReadResult bound_to(const std::string& driver)
{
    DeviceFacts facts = nic_facts();
    facts.driver = driver;
    return ok(facts);
}

TEST(DeviceRegistry, AddsAVfioDeviceOnce)
{
    DeviceRegistry registry;
    EXPECT_EQ(registry.apply("0000:3b:00.0", ok(nic_facts())).kind, RegistryChangeKind::Added);
    EXPECT_EQ(registry.apply("0000:3b:00.0", ok(nic_facts())).kind, RegistryChangeKind::None);
    ASSERT_NE(registry.find("0000:3b:00.0"), nullptr);
    EXPECT_EQ(registry.size(), 1u);
}

TEST(DeviceRegistry, IgnoresDevicesOnOtherDrivers)
{
    DeviceRegistry registry;
    EXPECT_EQ(registry.apply("0000:3b:00.0", bound_to("i40e")).kind, RegistryChangeKind::None);
    EXPECT_EQ(registry.apply("0000:3b:00.0", bound_to("")).kind, RegistryChangeKind::None);
    EXPECT_EQ(registry.size(), 0u);
}

TEST(DeviceRegistry, UnbindAndRemovalRemoveWithAReason)
{
    DeviceRegistry registry;
    registry.apply("0000:3b:00.0", ok(nic_facts()));
    RegistryChange change = registry.apply("0000:3b:00.0", bound_to("i40e"));
    EXPECT_EQ(change.kind, RegistryChangeKind::Removed);
    EXPECT_EQ(change.reason, "device unbound from vfio-pci, now bound to i40e");
    EXPECT_EQ(change.facts.driver, "vfio-pci") << "the last facts served";

    registry.apply("0000:3b:00.0", ok(nic_facts()));
    change = registry.apply("0000:3b:00.0", {SysfsReadStatus::Gone, {}, ""});
    EXPECT_EQ(change.kind, RegistryChangeKind::Removed);
    EXPECT_EQ(change.reason, "device removed");
    EXPECT_EQ(registry.size(), 0u);
}

TEST(DeviceRegistry, IncompleteReadingsChangeNothing)
{
    DeviceRegistry registry;
    EXPECT_EQ(registry.apply("0000:3b:00.0", {SysfsReadStatus::Incomplete, {}, "resource: ENOENT"}).kind,
        RegistryChangeKind::None);
    registry.apply("0000:3b:00.0", ok(nic_facts()));
    EXPECT_EQ(registry.apply("0000:3b:00.0", {SysfsReadStatus::Incomplete, {}, "x"}).kind, RegistryChangeKind::None);
    EXPECT_EQ(registry.size(), 1u);
}

TEST(DeviceRegistry, ChangedFactsBumpTheGeneration)
{
    DeviceRegistry registry;
    registry.apply("0000:3b:00.0", ok(nic_facts()));
    const std::uint64_t first = registry.find("0000:3b:00.0")->generation;
    DeviceFacts facts = nic_facts();
    facts.bars[1].size = 2 << 20;
    EXPECT_EQ(registry.apply("0000:3b:00.0", ok(facts)).kind, RegistryChangeKind::Changed);
    EXPECT_GT(registry.find("0000:3b:00.0")->generation, first);
}

TEST(DeviceRegistry, ADeviceThatComesBackHasANewGeneration)
{
    DeviceRegistry registry;
    registry.apply("0000:3b:00.0", ok(nic_facts()));
    const std::uint64_t first = registry.find("0000:3b:00.0")->generation;
    registry.apply("0000:3b:00.0", {SysfsReadStatus::Gone, {}, ""});
    registry.apply("0000:3b:00.0", ok(nic_facts()));
    EXPECT_NE(registry.find("0000:3b:00.0")->generation, first);
}

TEST(DeviceRegistry, ListsDevicesByAddress)
{
    DeviceRegistry registry;
    registry.apply("0000:5e:00.0", ok(nic_facts("0000:5e:00.0")));
    registry.apply("0000:3b:00.0", ok(nic_facts("0000:3b:00.0")));
    const auto devices = registry.devices();
    ASSERT_EQ(devices.size(), 2u);
    EXPECT_EQ(devices[0]->facts.address, "0000:3b:00.0");
    EXPECT_EQ(devices[1]->facts.address, "0000:5e:00.0");
}

} // namespace
} // namespace wcbroker::test
