// /proc/iomem: the kernel's tree of claimed physical address ranges. A
// driver that claims a BAR (vfio-pci does when a VFIO user first maps or
// touches it on 6.x, when it opens the device on 7.x) shows up as a child of the BAR's own entry, and while it is
// there sysfs mappings of that BAR fail and existing ones are revoked
// (kernel-facts.md 3). Reading it needs root: others see zeros.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wcbroker {

struct IomemEntry {
    std::uint64_t start = 0;
    std::uint64_t end = 0; // inclusive, as printed
    std::string name;
    unsigned depth = 0; // nesting level, from the indentation
};

std::vector<IomemEntry> parse_iomem(std::string_view text);

// Who, other than the PCI core's own entry for the device, holds part of
// [start, start + size): the name of the first claim nested under the
// device's BAR entry, e.g. "vfio-pci". nullopt when the BAR is unclaimed,
// or when the list shows no entry for the BAR at all (unprivileged reader).
std::optional<std::string> bar_claimant(const std::vector<IomemEntry>& entries, std::string_view device_address,
    std::uint64_t start, std::uint64_t size);

// Why CLAIMANT (as /proc/iomem names it) holds a BAR, in words for an error
// message. vfio-pci names its claims "vfio-pci" on kernels 6.x, where a BAR is
// claimed when a VFIO user first maps or touches it, and "vfio" on 7.x,
// where every BAR is claimed as soon as a VFIO user opens the device
// (kernel-facts.md 3 and 3b).
std::string describe_claimant(std::string_view claimant);

// The wcalias module's own claim ("wcalias"): wcbrokerd's, made at bind for
// the BARs the policy serves through the module, and no sign of another user.
bool is_wcalias_claim(std::string_view claimant);

} // namespace wcbroker
