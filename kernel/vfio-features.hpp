// Which VFIO features beyond plain region mmap this kernel offers, and a
// side-effect-free probe for one feature on a device fd.
//
// Rules from kernel-facts.md 1: never read feature 11 as the alias-region
// RFC (mainline reuses 11 for DMA-BUF export, since v6.19, and an
// out-of-tree alias patch may answer a probe for 11 on older kernels); and
// gate features that are only proposals (13, 14) on a kernel release where
// they are merged, never on a probe alone.
//
// wcbrokerd itself never opens VFIO device fds: opening one resets the
// device and takes the IOMMU group away from the driver that needs it. So it
// reports these capabilities from the kernel version; the probe serves
// callers that already hold a device fd.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wcbroker {

inline constexpr std::uint32_t vfio_feature_dma_buf = 11;         // DMA-BUF export, mainline since v6.19
inline constexpr std::uint32_t vfio_feature_dma_buf_revoke = 13;  // proposal (DMA-BUF mmap series), not merged
inline constexpr std::uint32_t vfio_feature_dma_buf_memattr = 14; // proposal (DMA-BUF mmap series), not merged

enum class FeatureProbe {
    Supported,      // 0
    Unknown,        // ENOTTY: this kernel's VFIO core does not know the feature
    WrongDirection, // EINVAL: the feature exists without this direction, or an old core
    NoBackend,      // EOPNOTSUPP: known, but this device's driver does not implement it
    Failed,         // anything else
};

std::string_view feature_probe_name(FeatureProbe result);

// VFIO_DEVICE_FEATURE with PROBE and GET (or SET): asks whether the feature
// exists without doing it.
FeatureProbe probe_vfio_device_feature(int device_fd, std::uint32_t feature, bool set = false);

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

// `export_probe`: the result of probing feature 11 on a device fd, when one
// was available; it only counts on kernels where 11 means DMA-BUF.
std::vector<VfioCapability> vfio_capabilities(const KernelVersion& kernel,
    std::optional<FeatureProbe> export_probe = std::nullopt);

} // namespace wcbroker
