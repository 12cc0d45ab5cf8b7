// Keeps the device registry in step with the system: cold-plug enumeration
// at start, then every udev event as a cue to re-read that device's sysfs
// (never trusting the event's own properties, which can be stale or arrive
// out of order), retrying devices whose attributes are not readable yet.
#pragma once

#include "device-registry.hpp"
#include "event-loop.hpp"
#include "udev-monitor.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace wcbroker {

class DeviceListener {
public:
    virtual ~DeviceListener() = default;
    virtual void device_added(const DeviceRecord& record) = 0;
    virtual void device_changed(const DeviceRecord& record) = 0;
    virtual void device_removed(const DeviceFacts& last_known, const std::string& reason) = 0;
};

struct TrackerStatistics {
    std::uint64_t events = 0;   // uevents received
    std::uint64_t retries = 0;  // readings repeated because sysfs was incomplete
    std::uint64_t abandoned = 0;
    std::chrono::nanoseconds busy{0}; // time spent in our own handlers
};

// What one uevent makes the tracker re-read, apart from the event loop and
// the monitor so it can be tested on its own: calls `refresh` with each
// device address to re-read, in order. A "pci" event names the device; a
// "vfio" event names an IOMMU group (/dev/vfio/N), whose members sysfs lists
// are re-read once each, then those the registry still places in that
// group and sysfs did not list (asked after the members' refreshes, which
// change the registry). Only canonical
// PCI addresses are passed on: a name that is not one, or a group name that
// is not a number, reads nothing.
void for_each_device_to_refresh(const UdevEvent& event, const KernelPaths& paths, const DeviceRegistry& registry,
    const std::function<void(const std::string& address)>& refresh);

class DeviceTracker {
public:
    DeviceTracker(EventLoop& loop, KernelPaths paths, DeviceListener& listener);

    // start() = start_monitoring() then coldplug(). Apart so tests can fire
    // events in between: those queue in the socket and apply after cold-plug.
    void start(UdevSource source);
    void start_monitoring(UdevSource source);
    void coldplug();

    // Re-reads one device now and applies what sysfs says.
    void refresh(const std::string& address);

    const DeviceRegistry& registry() const { return registry_; }
    UdevSource source() const;
    const TrackerStatistics& statistics() const { return statistics_; }

    // Retry schedule for incomplete devices: first delay, doubling, attempts.
    static constexpr std::chrono::milliseconds first_retry_delay{10};
    static constexpr int max_retries = 10;

private:
    void on_readable();
    void handle(const UdevEvent& event);
    void refresh_all();
    void schedule_retry(const std::string& address, const std::string& problem);

    EventLoop& loop_;
    KernelPaths paths_;
    DeviceListener& listener_;
    DeviceRegistry registry_;
    std::unique_ptr<UdevMonitor> monitor_;
    EventSource monitor_source_;
    struct Retry {
        int attempts = 0;
        EventSource timer;
    };
    std::map<std::string, Retry> retries_;
    TrackerStatistics statistics_;
};

} // namespace wcbroker
