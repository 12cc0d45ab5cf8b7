// udev rules that bind the devices a policy names to vfio-pci when they
// appear, the way driverctl does: set driver_override and have the kernel
// probe a driverless device; only when asked, take a device from the driver
// that already claimed it.
//
// Only what udev can match exactly is turned into rules. A selector that
// would match more devices in udev than in the policy is left out, with the
// reason: binding a device to vfio-pci takes it away from the host (a disk,
// the management NIC), so an over-broad rule is worse than none.
#pragma once

#include "policy.hpp"

#include <string>
#include <vector>

namespace wcbroker::cli {

struct AutobindRules {
    std::string text;                  // the rules file, ready for /etc/udev/rules.d
    std::size_t selectors_bound = 0;   // selectors turned into a rule
    std::vector<std::string> skipped;  // one line per selector left out, and why
};

struct AutobindOptions {
    // Take a device from a driver that already claimed it. Off by default:
    // that driver may be serving the host (storage, the management NIC).
    bool unbind_bound_drivers = false;
};

AutobindRules make_autobind_rules(const Policy& policy, const AutobindOptions& options = {});

// The glob udev's ATTR{class} match needs for "class & mask == value & mask":
// one character per hex digit of "0xCCCCCC", a bracket set where the mask
// covers part of a digit.
std::string class_glob(std::uint32_t value, std::uint32_t mask);

} // namespace wcbroker::cli
