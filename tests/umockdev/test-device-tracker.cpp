// DeviceTracker against umockdev: cold-plug, hotplug bind/unbind/remove,
// events during cold-plug, incomplete sysfs, vfio group events, a storm.

#include "device-tracker.hpp"
#include "fake-pci.hpp"

#include <algorithm>
#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

using namespace std::chrono_literals;

class RecordingListener final : public DeviceListener {
public:
    void device_added(const DeviceRecord& record) override { events.push_back("added " + record.facts.address); }
    void device_changed(const DeviceRecord& record) override { events.push_back("changed " + record.facts.address); }
    void device_removed(const DeviceFacts& facts, const std::string& reason) override
    {
        events.push_back("removed " + facts.address + ": " + reason);
    }
    std::size_t count(const std::string& event) const
    {
        return static_cast<std::size_t>(std::count(events.begin(), events.end(), event));
    }
    std::vector<std::string> events;
};

class DeviceTrackerTest : public ::testing::TestWithParam<UdevSource> {
protected:
    void SetUp() override { tracker_ = std::make_unique<DeviceTracker>(loop_, KernelPaths(pci_.root()), listener_); }

    template <typename Predicate>
    bool run_until(Predicate done, std::chrono::milliseconds limit = 5s)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline)
                return false;
            loop_.run_once(10ms);
        }
        return true;
    }
    // Lets whatever is in flight arrive, for tests that expect nothing to happen.
    void settle()
    {
        for (int i = 0; i < 10; ++i)
            loop_.run_once(5ms);
    }
    bool serving(const std::string& address) const { return tracker_->registry().find(address) != nullptr; }

    FakePci pci_;
    EventLoop loop_;
    RecordingListener listener_;
    std::unique_ptr<DeviceTracker> tracker_;
};

TEST_P(DeviceTrackerTest, ColdplugServesOnlyVfioDevices)
{
    pci_.add(ivshmem("0000:00:03.0", 3));
    FakeDevice nic = ivshmem("0000:00:04.0", 4);
    nic.driver = "virtio-pci";
    pci_.add(nic);
    FakeDevice unbound = ivshmem("0000:00:05.0", 5);
    unbound.driver = "";
    pci_.add(unbound);
    tracker_->start(GetParam());
    EXPECT_EQ(listener_.events, std::vector<std::string>{"added 0000:00:03.0"});
    EXPECT_TRUE(serving("0000:00:03.0"));
    EXPECT_EQ(tracker_->registry().size(), 1u);
    EXPECT_EQ(tracker_->source(), GetParam());
}

TEST_P(DeviceTrackerTest, HotplugBindServesTheDevice)
{
    tracker_->start(GetParam());
    FakeDevice device = ivshmem("0000:00:03.0", 3);
    device.driver = "";
    pci_.add(device);
    pci_.uevent("0000:00:03.0", "add");
    settle();
    EXPECT_FALSE(serving("0000:00:03.0"));
    pci_.rebind("0000:00:03.0", "vfio-pci");
    ASSERT_TRUE(run_until([&] { return serving("0000:00:03.0"); }));
    const DeviceFacts& facts = tracker_->registry().find("0000:00:03.0")->facts;
    EXPECT_EQ(facts.vendor_id, 0x1af4);
    EXPECT_EQ(facts.iommu_group, 3u);
    ASSERT_NE(facts.bar(2), nullptr);
    EXPECT_TRUE(facts.bar(2)->prefetchable);
    EXPECT_TRUE(facts.bar(2)->has_wc_file);
    EXPECT_EQ(facts.bar(2)->start, pci_.bar_start("0000:00:03.0", 2));
}

TEST_P(DeviceTrackerTest, UnbindStopsServingWithAReason)
{
    pci_.add(ivshmem("0000:00:03.0", 3));
    tracker_->start(GetParam());
    pci_.rebind("0000:00:03.0", "");
    ASSERT_TRUE(run_until([&] { return !serving("0000:00:03.0"); }));
    EXPECT_EQ(listener_.count("removed 0000:00:03.0: device unbound from vfio-pci"), 1u);
}

TEST_P(DeviceTrackerTest, RebindToAnotherDriverNamesIt)
{
    pci_.add(ivshmem("0000:00:03.0", 3));
    tracker_->start(GetParam());
    pci_.rebind("0000:00:03.0", "ivshmem");
    ASSERT_TRUE(run_until([&] { return !serving("0000:00:03.0"); }));
    settle();
    // unbind and bind arrive as two events but both read sysfs as it is by
    // then: bound to the new driver, so one removal, no flapping.
    EXPECT_EQ(listener_.events,
        (std::vector<std::string>{"added 0000:00:03.0", "removed 0000:00:03.0: device unbound from vfio-pci, now bound to ivshmem"}));
}

TEST_P(DeviceTrackerTest, RemovalStopsServing)
{
    pci_.add(ivshmem("0000:00:03.0", 3));
    tracker_->start(GetParam());
    pci_.remove("0000:00:03.0");
    ASSERT_TRUE(run_until([&] { return !serving("0000:00:03.0"); }));
    EXPECT_EQ(listener_.count("removed 0000:00:03.0: device removed"), 1u);
}

TEST_P(DeviceTrackerTest, EventsDuringColdplugApplyAfterItOnce)
{
    pci_.add(ivshmem("0000:00:03.0", 3));
    tracker_->start_monitoring(GetParam());
    // While the daemon starts: a new device binds and the old one unbinds.
    FakeDevice late = ivshmem("0000:00:04.0", 4);
    late.driver = "";
    pci_.add(late);
    pci_.rebind("0000:00:04.0", "vfio-pci");
    pci_.rebind("0000:00:03.0", "");
    tracker_->coldplug();
    settle();
    EXPECT_EQ(listener_.events, std::vector<std::string>{"added 0000:00:04.0"});
    EXPECT_TRUE(serving("0000:00:04.0"));
    EXPECT_FALSE(serving("0000:00:03.0"));
    EXPECT_GE(tracker_->statistics().events, 2u);
}

TEST_P(DeviceTrackerTest, StaleOrRepeatedEventsChangeNothing)
{
    pci_.add(ivshmem("0000:00:03.0", 3));
    tracker_->start(GetParam());
    // A late "bind" after the device was already unbound, then duplicates.
    pci_.rebind("0000:00:03.0", "", false);
    pci_.uevent("0000:00:03.0", "bind");
    pci_.uevent("0000:00:03.0", "bind");
    pci_.uevent("0000:00:03.0", "unbind");
    ASSERT_TRUE(run_until([&] { return !serving("0000:00:03.0"); }));
    settle();
    EXPECT_EQ(listener_.events,
        (std::vector<std::string>{"added 0000:00:03.0", "removed 0000:00:03.0: device unbound from vfio-pci"}));
}

TEST_P(DeviceTrackerTest, IncompleteSysfsIsRetriedNotDropped)
{
    tracker_->start(GetParam());
    FakeDevice device = ivshmem("0000:00:03.0", 3);
    device.resource_file = false; // the kernel has not created it yet
    pci_.add(device);
    pci_.uevent("0000:00:03.0", "bind");
    ASSERT_TRUE(run_until([&] { return tracker_->statistics().retries >= 1; }));
    EXPECT_FALSE(serving("0000:00:03.0"));
    pci_.write_resource_file("0000:00:03.0", device);
    ASSERT_TRUE(run_until([&] { return serving("0000:00:03.0"); }));
    EXPECT_EQ(listener_.events, std::vector<std::string>{"added 0000:00:03.0"});
}

TEST_P(DeviceTrackerTest, VfioGroupEventRefreshesItsMembers)
{
    FakeDevice device = ivshmem("0000:00:03.0", 7);
    device.driver = "";
    pci_.add(device);
    tracker_->start(GetParam());
    pci_.rebind("0000:00:03.0", "vfio-pci", false); // only the group node's event arrives
    pci_.vfio_group_uevent(7, "add");
    ASSERT_TRUE(run_until([&] { return serving("0000:00:03.0"); }));
}

TEST_P(DeviceTrackerTest, ChangedFactsAreReported)
{
    FakeDevice device = ivshmem("0000:00:03.0", 3);
    pci_.add(device);
    tracker_->start(GetParam());
    const std::uint64_t generation = tracker_->registry().find("0000:00:03.0")->generation;
    device.bars[1].size = 2 << 20;
    pci_.write_resource_file("0000:00:03.0", device);
    pci_.uevent("0000:00:03.0", "change");
    ASSERT_TRUE(run_until([&] { return listener_.count("changed 0000:00:03.0") == 1; }));
    EXPECT_GT(tracker_->registry().find("0000:00:03.0")->generation, generation);
    EXPECT_EQ(tracker_->registry().find("0000:00:03.0")->facts.bar(2)->size, 2u << 20);
}

TEST_P(DeviceTrackerTest, StormOf256BindsIsServedCompletely)
{
    std::vector<std::string> addresses;
    for (int i = 0; i < 256; ++i) {
        char address[16];
        std::snprintf(address, sizeof address, "0000:%02x:00.0", i);
        FakeDevice device = ivshmem(address, static_cast<std::uint32_t>(100 + i));
        device.driver = "";
        pci_.add(device);
        addresses.emplace_back(address);
    }
    tracker_->start(GetParam());
    ASSERT_EQ(tracker_->registry().size(), 0u);
    // Bursts of 4 with the daemon draining in between: umockdev's emulated
    // uevent socket holds only a few messages (the kernel's gets the 128 MiB
    // the daemon asks for), and umockdev aborts the sender when it is full.
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        pci_.rebind(addresses[i], "vfio-pci");
        if (i % 4 == 3)
            loop_.run_once(0ms);
    }
    ASSERT_TRUE(run_until([&] { return tracker_->registry().size() == 256; }, 30s))
        << tracker_->registry().size() << " of 256";
    settle();
    EXPECT_EQ(listener_.events.size(), 256u) << "each device added exactly once";
    EXPECT_EQ(tracker_->statistics().abandoned, 0u);
}

INSTANTIATE_TEST_SUITE_P(Sources, DeviceTrackerTest, ::testing::Values(UdevSource::Kernel, UdevSource::Udev),
    [](const ::testing::TestParamInfo<UdevSource>& param) { return std::string(udev_source_name(param.param)); });

} // namespace
} // namespace wcbroker::test
