#include "vfio-features.hpp"

#include <charconv>
#include <sys/utsname.h>

namespace wcbroker {
namespace {

// The first mainline release with VFIO_DEVICE_FEATURE_DMA_BUF.
constexpr KernelVersion dma_buf_export_merged{6, 19, 0};
// The DMA-BUF mmap and memory-attribute features (13, 14) are proposals
// (Matt Evans, v5, July 2026) merged in no release wcbroker knows of. When
// one is, its version goes here and the capability lights up on it.
constexpr std::optional<KernelVersion> dma_buf_mmap_merged = std::nullopt;

} // namespace

std::optional<KernelVersion> KernelVersion::parse(std::string_view release)
{
    KernelVersion version;
    unsigned* parts[] = {&version.major, &version.minor, &version.patch};
    std::size_t index = 0;
    const char* cursor = release.data();
    const char* end = release.data() + release.size();
    while (index < 3 && cursor < end) {
        auto [next, error] = std::from_chars(cursor, end, *parts[index]);
        if (error != std::errc())
            break;
        ++index;
        cursor = next;
        if (cursor == end || *cursor != '.')
            break;
        ++cursor;
    }
    if (index < 2)
        return std::nullopt;
    return version;
}

std::optional<KernelVersion> KernelVersion::running()
{
    struct utsname name {};
    if (::uname(&name) != 0)
        return std::nullopt;
    return parse(name.release);
}

std::string KernelVersion::to_string() const
{
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::vector<VfioCapability> vfio_capabilities(const KernelVersion& kernel)
{
    std::vector<VfioCapability> capabilities;

    VfioCapability dma_buf{"vfio-dmabuf-export", false, ""};
    if (kernel < dma_buf_export_merged) {
        dma_buf.basis = "kernel " + kernel.to_string() + " predates DMA-BUF export (v6.19); a probe of feature 11 "
                        "there could only answer for an out-of-tree patch";
    } else {
        dma_buf.available = true;
        dma_buf.basis = "kernel " + kernel.to_string() + " has it (v6.19+); not probed on a device";
    }
    capabilities.push_back(dma_buf);

    for (const char* name : {"vfio-dmabuf-mmap", "vfio-dmabuf-memattr"}) {
        VfioCapability proposal{name, false, ""};
        if (dma_buf_mmap_merged && kernel >= *dma_buf_mmap_merged) {
            proposal.available = true;
            proposal.basis = "kernel " + kernel.to_string() + " has it";
        } else {
            proposal.basis = "a proposal (features 13 and 14) merged in no kernel release yet; never probed";
        }
        capabilities.push_back(proposal);
    }
    return capabilities;
}

} // namespace wcbroker
