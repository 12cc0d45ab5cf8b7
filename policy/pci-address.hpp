// PCI addresses ("domain:bus:device.function", e.g. 0000:3b:00.0) and the
// glob patterns the policy uses to select them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wcbroker {

// Canonical form is the one sysfs uses: lower-case hex, 4:2:2.1 digits.
// Returns nullopt unless `text` is exactly such an address (upper case is
// accepted and folded). Short forms like "3b:00.0" are refused: a missing
// domain is ambiguous on multi-segment hosts.
std::optional<std::string> canonical_pci_address(std::string_view text);

// Validates a glob over canonical addresses: four fields separated as
// "DDDD:BB:DD.F", each made of hex digits and the fnmatch wildcards * ? [ ].
// On success returns the pattern folded to lower case.
std::optional<std::string> canonical_pci_address_glob(std::string_view pattern);

bool pci_address_matches(std::string_view glob, std::string_view address);

} // namespace wcbroker
