// sysfs-wc and sysfs-uc: the PCI core's resourceN_wc and resourceN files.
// The only write-combining path Linux offers today. The fd maps any offset
// of the BAR (the range is advisory), is mode 0600 root but checks no
// credentials at mmap, and its mappings are revoked only by the kernel:
// device removal, or a driver (vfio-pci) claiming the BAR.
#pragma once

#include "mechanism.hpp"

namespace wcbroker {

// ROOT/sys/bus/pci/devices/ADDRESS/resourceBAR, with "_wc" for write-combine.
std::string sysfs_resource_file(const KernelPaths& paths, std::string_view address, std::uint32_t bar, Access access);

class SysfsResourceMechanism final : public Mechanism {
public:
    explicit SysfsResourceMechanism(Access access)
        : access_(access)
    {
    }

    std::string_view name() const override;
    RangeEnforcement range_enforcement() const override { return RangeEnforcement::Advisory; }
    std::optional<BrokerError> unsuitable(const DeviceFacts& device, const BarFacts& bar) const override;
    Expected<OpenedRange> open(const KernelPaths& paths, const DeviceFacts& device, const BarFacts& bar,
        std::uint64_t offset, std::uint64_t length) const override;

private:
    Access access_;
};

} // namespace wcbroker
