// wcalias: an alias of exactly the granted range, made by the wcalias kernel
// module (kmod/, docs/kernel-mechanisms.md). The fd is a dma-buf that maps
// only [offset, offset + length) at mmap offset 0, with the memory type the
// module reserved for that range and read back; revoking it makes every
// mapping of it fault. Preferred over sysfs-wc/sysfs-uc whenever the module
// is usable.
#pragma once

#include "mechanism.hpp"
#include "wcalias-control.hpp"

namespace wcbroker {

class WcaliasMechanism final : public Mechanism {
public:
    // CONTROL outlives the mechanism; it may be unusable.
    WcaliasMechanism(WcaliasControl& control, Access access)
        : control_(control)
        , access_(access)
    {
    }

    std::string_view name() const override { return "wcalias"; }
    RangeEnforcement range_enforcement() const override { return RangeEnforcement::Kernel; }
    std::optional<BrokerError> unsuitable(const DeviceFacts& device, const BarFacts& bar) const override;
    Expected<OpenedRange> open(const KernelPaths& paths, const DeviceFacts& device, const BarFacts& bar,
        std::uint64_t offset, std::uint64_t length) const override;

private:
    WcaliasControl& control_;
    Access access_;
};

} // namespace wcbroker
