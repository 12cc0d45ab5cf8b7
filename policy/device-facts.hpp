// What wcbroker knows about one PCI device: read from sysfs by the daemon,
// from a file by `wcbrokerctl explain --device-facts`, and matched by the policy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wcbroker {

// The standard BARs, 0 to 5; the expansion ROM and bridge windows cannot be
// mapped through a resource file.
inline constexpr std::uint32_t max_bar_index = 5;

enum class BarKind {
    Memory32,
    Memory64,
    Io,
};

struct BarFacts {
    std::uint32_t index = 0;
    std::uint64_t start = 0; // physical (CPU) address of the BAR
    std::uint64_t size = 0;
    std::uint64_t flags = 0; // IORESOURCE_* bits from the sysfs `resource` file
    BarKind kind = BarKind::Memory32;
    bool prefetchable = false;
    bool has_uc_file = false; // resourceN exists
    bool has_wc_file = false; // resourceN_wc exists (prefetchable memory and arch WC support)

    bool is_memory() const { return kind != BarKind::Io; }
    // Every field: the registry tells listeners of a change by it.
    bool operator==(const BarFacts&) const = default;
};

struct DeviceFacts {
    std::string address; // canonical, e.g. "0000:3b:00.0"
    std::uint16_t vendor_id = 0;
    std::uint16_t device_id = 0;
    std::uint16_t subsystem_vendor_id = 0;
    std::uint16_t subsystem_device_id = 0;
    std::uint32_t class_code = 0; // 24 bits: base class, subclass, prog-if
    std::string driver;           // empty when unbound
    std::optional<std::uint32_t> iommu_group;
    std::vector<std::string> iommu_group_members; // addresses, including this device
    int numa_node = -1;
    std::vector<BarFacts> bars; // only BARs with a non-zero size, by index

    const BarFacts* bar(std::uint32_t index) const;
    bool operator==(const DeviceFacts&) const = default;
};

std::string_view bar_kind_name(BarKind kind);
// The kind bar_kind_name() names, or nullopt.
std::optional<BarKind> parse_bar_kind(std::string_view name);

} // namespace wcbroker
