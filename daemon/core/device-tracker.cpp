#include "device-tracker.hpp"

#include "log.hpp"
#include "pci-address.hpp"
#include "sysfs-files.hpp"

#include <set>
#include <sys/epoll.h>

namespace wcbroker {
namespace {

class BusyTimer {
public:
    explicit BusyTimer(std::chrono::nanoseconds& total)
        : total_(total)
        , start_(std::chrono::steady_clock::now())
    {
    }
    ~BusyTimer() { total_ += std::chrono::steady_clock::now() - start_; }
    BusyTimer(const BusyTimer&) = delete;
    BusyTimer& operator=(const BusyTimer&) = delete;

private:
    std::chrono::nanoseconds& total_;
    std::chrono::steady_clock::time_point start_;
};

void refresh_group(const std::string& group, const KernelPaths& paths, const DeviceRegistry& registry,
    const std::function<void(const std::string& address)>& refresh)
{
    if (group.empty() || group.find_first_not_of("0123456789") != std::string::npos)
        return; // /dev/vfio/vfio, the container node
    std::set<std::string> refreshed;
    auto members = list_directory(paths.from_syspath("/sys/kernel/iommu_groups/" + group + "/devices"));
    if (members) {
        for (const std::string& member : *members) {
            if (auto address = canonical_pci_address(member); address && refreshed.insert(*address).second)
                refresh(*address);
        }
    }
    // Members the group directory no longer lists (it is gone on removal).
    std::vector<std::string> known;
    for (const DeviceRecord* record : registry.devices()) {
        if (record->facts.iommu_group && std::to_string(*record->facts.iommu_group) == group
            && !refreshed.contains(record->facts.address))
            known.push_back(record->facts.address);
    }
    for (const std::string& address : known)
        refresh(address);
}

} // namespace

void for_each_device_to_refresh(const UdevEvent& event, const KernelPaths& paths, const DeviceRegistry& registry,
    const std::function<void(const std::string& address)>& refresh)
{
    if (event.subsystem == "pci") {
        if (auto address = canonical_pci_address(event.sysname))
            refresh(*address);
    } else if (event.subsystem == "vfio") {
        // A group node appearing or going means its members' state may have
        // changed; the group number is the node's name (/dev/vfio/N).
        refresh_group(event.sysname, paths, registry, refresh);
    }
}

DeviceTracker::DeviceTracker(EventLoop& loop, KernelPaths paths, DeviceListener& listener)
    : loop_(loop)
    , paths_(std::move(paths))
    , listener_(listener)
{
}

void DeviceTracker::start(UdevSource source)
{
    start_monitoring(source);
    coldplug();
}

void DeviceTracker::start_monitoring(UdevSource source)
{
    monitor_ = std::make_unique<UdevMonitor>(source);
    log_info("watching " + std::string(udev_source_name(monitor_->source())) + " uevents for pci and vfio devices"
        + (monitor_->source() == UdevSource::Kernel ? " (udevd is not running)" : ""));
    monitor_source_ = loop_.add_io(monitor_->fd(), EPOLLIN, [this](std::uint32_t) { on_readable(); });
}

UdevSource DeviceTracker::source() const
{
    return monitor_ ? monitor_->source() : UdevSource::Auto;
}

void DeviceTracker::coldplug()
{
    BusyTimer timer(statistics_.busy);
    const std::vector<std::string> names = monitor_->enumerate_pci();
    for (const std::string& name : names)
        refresh(name);
    log_info("cold-plug: " + std::to_string(names.size()) + " PCI devices, " + std::to_string(registry_.size())
        + " bound to vfio-pci");
}

void DeviceTracker::on_readable()
{
    BusyTimer timer(statistics_.busy);
    UdevMonitor::Received received = monitor_->receive();
    statistics_.events += received.events.size();
    if (received.overflowed) {
        log_warning("uevent socket overflowed; re-reading every PCI device from sysfs");
        refresh_all();
    }
    for (const UdevEvent& event : received.events)
        handle(event);
}

void DeviceTracker::handle(const UdevEvent& event)
{
    log_debug("uevent " + event.action + " " + event.subsystem + " " + event.sysname);
    for_each_device_to_refresh(event, paths_, registry_, [this](const std::string& address) { refresh(address); });
}

void DeviceTracker::refresh_all()
{
    std::set<std::string> refreshed;
    for (const std::string& name : monitor_->enumerate_pci()) {
        refresh(name);
        if (auto address = canonical_pci_address(name))
            refreshed.insert(*address);
    }
    // Devices sysfs no longer lists: reading them finds them gone.
    std::vector<std::string> known;
    for (const DeviceRecord* record : registry_.devices()) {
        if (!refreshed.contains(record->facts.address))
            known.push_back(record->facts.address);
    }
    for (const std::string& address : known)
        refresh(address);
}

void DeviceTracker::refresh(const std::string& name)
{
    auto address = canonical_pci_address(name);
    if (!address)
        return;
    const SysfsReadResult reading = read_pci_device(paths_, *address);
    if (reading.status == SysfsReadStatus::Incomplete) {
        schedule_retry(*address, reading.problem);
        return;
    }
    retries_.erase(*address);
    const RegistryChange change = registry_.apply(*address, reading);
    switch (change.kind) {
    case RegistryChangeKind::None:
        break;
    case RegistryChangeKind::Added:
        log_info(*address + ": bound to vfio-pci, serving it");
        listener_.device_added(*registry_.find(*address));
        break;
    case RegistryChangeKind::Changed:
        log_info(*address + ": facts changed");
        listener_.device_changed(*registry_.find(*address));
        break;
    case RegistryChangeKind::Removed:
        log_info(*address + ": " + change.reason + ", no longer serving it");
        listener_.device_removed(change.facts, change.reason);
        break;
    }
}

void DeviceTracker::schedule_retry(const std::string& address, const std::string& problem)
{
    Retry& retry = retries_[address];
    if (retry.attempts >= max_retries) {
        ++statistics_.abandoned;
        log_warning(address + ": sysfs still incomplete after " + std::to_string(max_retries)
            + " attempts (" + problem + "); waiting for the next uevent");
        retries_.erase(address);
        return;
    }
    if (retry.timer)
        return; // already waiting; the timer re-reads
    const auto delay = first_retry_delay * (1 << retry.attempts);
    ++retry.attempts;
    ++statistics_.retries;
    log_debug(address + ": sysfs incomplete (" + problem + "), retrying in " + std::to_string(delay.count()) + " ms");
    retry.timer = loop_.add_timer(delay, [this, address] {
        BusyTimer timer(statistics_.busy);
        const std::string target = address; // the lambda's own storage goes with its source
        // Keep the attempt count; drop only the fired timer.
        if (auto it = retries_.find(target); it != retries_.end())
            it->second.timer.reset();
        refresh(target);
    });
}

} // namespace wcbroker
