// Time from a bind uevent to the device being ready in the registry, for
// storms of 64, 128 and 256 devices on umockdev. "Our own time" is what the
// tracker spends in its handlers (DeviceTracker's busy clock): receiving,
// reading sysfs, updating the registry. The baseline, measured in the same
// run, is reading the same devices' sysfs directly (read_pci_device) with
// nothing else: the floor any implementation pays.
//
// Usage: umockdev-wrapper bench-hotplug      Results: docs/performance.md

#include "device-tracker.hpp"
#include "fake-pci.hpp"
#include "log.hpp"

#include <chrono>
#include <algorithm>
#include <cstdio>

namespace {

using namespace wcbroker;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class CountingListener final : public DeviceListener {
public:
    void device_added(const DeviceRecord&) override { ++added; }
    void device_changed(const DeviceRecord&) override {}
    void device_removed(const DeviceFacts&, const std::string&) override {}
    std::size_t added = 0;
};

struct Result {
    double wall_ms;       // first bind sent to last device ready, including umockdev's delivery
    double own_us_per_device;
    double floor_us_per_device;
};

Result storm(int devices)
{
    test::FakePci pci;
    std::vector<std::string> addresses;
    for (int i = 0; i < devices; ++i) {
        char address[32];
        std::snprintf(address, sizeof address, "0000:%02x:%02x.0", (i / 32) & 0xff, i % 32);
        test::FakeDevice device = test::ivshmem(address, static_cast<std::uint32_t>(i));
        device.driver = "";
        pci.add(device);
        addresses.emplace_back(address);
    }
    EventLoop loop;
    CountingListener listener;
    DeviceTracker tracker(loop, KernelPaths(pci.root()), listener);
    tracker.start(UdevSource::Kernel);
    const auto busy_before = tracker.statistics().busy;

    const auto start = Clock::now();
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        pci.rebind(addresses[i], "vfio-pci");
        // umockdev's emulated uevent socket holds only a few messages.
        if (i % 4 == 3)
            loop.run_once(0us);
    }
    while (listener.added < addresses.size())
        loop.run_once(10ms);
    const double wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    const double own_us = std::chrono::duration<double, std::micro>(tracker.statistics().busy - busy_before).count();

    const KernelPaths paths(pci.root());
    const auto floor_start = Clock::now();
    for (const std::string& address : addresses) {
        if (read_pci_device(paths, address).status != SysfsReadStatus::Ok)
            std::abort();
    }
    const double floor_us = std::chrono::duration<double, std::micro>(Clock::now() - floor_start).count();
    return {wall_ms, own_us / devices, floor_us / devices};
}

} // namespace

int main()
{
    set_log_level(LogLevel::Warning);
    std::printf("| devices | wall, first bind to last ready (ms) | our own time per device (us) "
                "| sysfs read alone per device (us) | own / sysfs read |\n|---:|---:|---:|---:|---:|\n");
    double own_64 = 0;
    double own_256 = 0;
    for (int devices : {64, 128, 256}) {
        // Median of three storms of this size.
        std::vector<Result> results;
        for (int run = 0; run < 3; ++run)
            results.push_back(storm(devices));
        std::sort(results.begin(), results.end(),
            [](const Result& a, const Result& b) { return a.own_us_per_device < b.own_us_per_device; });
        const Result& r = results[1];
        std::printf("| %d | %.1f | %.1f | %.1f | %.2fx |\n", devices, r.wall_ms, r.own_us_per_device,
            r.floor_us_per_device, r.own_us_per_device / r.floor_us_per_device);
        if (devices == 64)
            own_64 = r.own_us_per_device;
        if (devices == 256)
            own_256 = r.own_us_per_device;
    }
    std::printf("\nPer-device cost at 256 devices / at 64: %.2fx (1.0 is linear total cost).\n", own_256 / own_64);
    return 0;
}
