// From a request for (device, BAR, range, access) to an mmap-ready fd with
// its verified memory type: range checks, BAR suitability, the VFIO claim,
// choosing the mechanism (wcalias when the module is usable, else sysfs),
// opening, and verification (the module's own for wcalias; for sysfs the
// PAT list, cached per BAR and mechanism until the device changes).
#pragma once

#include "evaluator.hpp"
#include "iomem.hpp"
#include "memtype-verifier.hpp"
#include "sysfs-mechanism.hpp"
#include "wcalias-mechanism.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

namespace wcbroker {

struct MappedRange {
    OpenedRange opened;
    const Mechanism* mechanism = nullptr;
    Verification verification;
    bool verification_was_cached = false;
};

class RangeMapper {
public:
    explicit RangeMapper(KernelPaths paths, std::uint64_t page_size = 4096);

    // Serve through the wcalias module from now on, whenever CONTROL is
    // usable (it outlives the mapper). Without it, or while it is unusable,
    // only sysfs-wc and sysfs-uc serve, and a kernel-enforced range is
    // refused with CONTROL's reason.
    void use_wcalias(WcaliasControl* control);
    WcaliasControl* wcalias() const { return wcalias_; }

    // The device has that BAR; otherwise which ones it has.
    std::optional<BrokerError> check_bar(const DeviceFacts& device, std::uint32_t bar) const;
    // Checks a request's shape against the device alone: the BAR exists, the
    // range is non-empty, page-aligned and inside the BAR.
    std::optional<BrokerError> check_range(const DeviceFacts& device, const AccessRequest& request) const;

    // The mechanism that would serve the request, or why none can.
    Expected<const Mechanism*> choose(const DeviceFacts& device, const AccessRequest& request,
        bool require_kernel_enforced_range) const;

    // The driver holding the BAR per /proc/iomem ("vfio-pci", or "wcalias"
    // for wcbrokerd's own claim: see is_wcalias_claim()), if any.
    std::optional<std::string> claimant(const DeviceFacts& device, const BarFacts& bar) const;
    // The same for every BAR of the device, in the order of device.bars,
    // from one reading of /proc/iomem (a large file on big machines).
    std::vector<std::optional<std::string>> claimants(const DeviceFacts& device) const;
    // /proc/iomem's entries, for looking at many devices' BARs at once
    // (bar_claimant()); none when it cannot be read.
    std::vector<IomemEntry> read_iomem() const;

    // For a request check_range() passed: chooses the mechanism, checks
    // the claim, opens and verifies. `device_generation` changes whenever
    // the device's facts do (and when it leaves and comes back), which is
    // what makes a cached verification stale.
    Expected<MappedRange> map(const DeviceFacts& device, std::uint64_t device_generation, const AccessRequest& request,
        bool require_kernel_enforced_range);

private:
    KernelPaths paths_;
    std::uint64_t page_size_;
    SysfsResourceMechanism write_combine_{Access::WriteCombine};
    SysfsResourceMechanism uncached_{Access::Uncached};
    WcaliasControl* wcalias_ = nullptr;
    std::unique_ptr<WcaliasMechanism> wcalias_write_combine_;
    std::unique_ptr<WcaliasMechanism> wcalias_uncached_;
    MemtypeVerifier verifier_;

    // One entry per address, BAR and mechanism ever mapped: bounded by the
    // machine's PCI slots, so a device that left needs no eviction.
    struct CachedVerification {
        std::uint64_t device_generation = 0;
        Verification verification;
    };
    std::map<std::tuple<std::string, std::uint32_t, std::string_view>, CachedVerification> verified_;
};

} // namespace wcbroker
