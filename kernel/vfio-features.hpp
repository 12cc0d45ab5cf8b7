// Which VFIO features beyond plain region mmap this kernel offers, judged
// from the kernel release.
//
// Rules from kernel-facts.md 1: never read feature 11 as the alias-region
// RFC (mainline reuses 11 for DMA-BUF export, since v6.19, and an
// out-of-tree alias patch may answer a probe for 11 on older kernels); and
// gate features that are only proposals (13, 14) on a kernel release where
// they are merged, never on a probe alone.
//
// wcbrokerd never opens VFIO device fds, so it never probes: opening one
// resets the device and takes the IOMMU group away from the driver that
// needs it.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wcbroker {

struct KernelVersion {
    unsigned major = 0;
    unsigned minor = 0;
    unsigned patch = 0;

    auto operator<=>(const KernelVersion&) const = default;
    // "6.12.117+deb12-amd64" -> 6.12.117
    static std::optional<KernelVersion> parse(std::string_view release);
    static std::optional<KernelVersion> running();
    std::string to_string() const;
};

struct VfioCapability {
    std::string name; // "vfio-dmabuf-export", "vfio-dmabuf-mmap", "vfio-dmabuf-memattr"
    bool available = false;
    std::string basis; // why we believe it
};

std::vector<VfioCapability> vfio_capabilities(const KernelVersion& kernel);

} // namespace wcbroker
