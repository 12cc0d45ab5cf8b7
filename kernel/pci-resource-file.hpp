// The sysfs `resource` file of a PCI device: one line per resource,
// "0x<start> 0x<end> 0x<flags>", BARs 0-5 first, then the ROM and, for
// bridges, windows. Unused entries are all zero.
#pragma once

#include "device-facts.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace wcbroker {

// IORESOURCE_* bits from include/linux/ioport.h that matter here.
inline constexpr std::uint64_t ioresource_io = 0x00000100;
inline constexpr std::uint64_t ioresource_mem = 0x00000200;
inline constexpr std::uint64_t ioresource_prefetch = 0x00002000;
inline constexpr std::uint64_t ioresource_mem_64 = 0x00100000;

// BARs 0-5 with a non-zero size, classified from their flags. The
// has_uc_file/has_wc_file fields are left false: they come from the
// directory listing, not this file. nullopt when a line is malformed.
std::optional<std::vector<BarFacts>> parse_pci_resource_file(std::string_view text);

} // namespace wcbroker
