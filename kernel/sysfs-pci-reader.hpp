// Reads DeviceFacts for one PCI device from sysfs. The single source of
// truth for what a device is and which driver has it: udev event properties
// are only a hint to look, because they can be stale or out of order
// (kernel-facts.md 7b).
#pragma once

#include "device-facts.hpp"
#include "kernel-paths.hpp"

#include <string>

namespace wcbroker {

enum class SysfsReadStatus {
    Ok,
    Gone,       // the device directory does not exist (removed)
    Incomplete, // exists but an attribute is missing or unreadable: try again shortly
};

struct SysfsReadResult {
    SysfsReadStatus status = SysfsReadStatus::Gone;
    DeviceFacts facts;
    std::string problem; // for Incomplete: which attribute and why
};

SysfsReadResult read_pci_device(const KernelPaths& paths, const std::string& address);

} // namespace wcbroker
