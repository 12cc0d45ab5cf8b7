// The devices wcbrokerd serves: PCI devices bound to vfio-pci whose facts
// could be read. Pure bookkeeping; every change comes in as a fresh sysfs
// reading, so applying the same reading twice, or readings out of order,
// converges on what sysfs says now.
#pragma once

#include "sysfs-pci-reader.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wcbroker {

struct DeviceRecord {
    DeviceFacts facts;
    // Changes whenever the facts do (and differs for a device that left and
    // came back), so anything cached about the device can tell it is stale.
    std::uint64_t generation = 0;
};

enum class RegistryChangeKind {
    None,
    Added,
    Changed,
    Removed,
};

struct RegistryChange {
    RegistryChangeKind kind = RegistryChangeKind::None;
    DeviceFacts facts;  // the new facts; for Removed, the last known ones
    std::string reason; // for Removed: "removed", "unbound from vfio-pci", ...
};

class DeviceRegistry {
public:
    // An Incomplete reading changes nothing (the caller retries).
    RegistryChange apply(const std::string& address, const SysfsReadResult& reading);

    const DeviceRecord* find(std::string_view address) const;
    std::vector<const DeviceRecord*> devices() const; // by address
    std::size_t size() const { return devices_.size(); }

private:
    std::map<std::string, DeviceRecord, std::less<>> devices_;
    std::uint64_t next_generation_ = 1;
};

} // namespace wcbroker
