#include "sysfs-mechanism.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>

namespace wcbroker {

std::string_view range_enforcement_name(RangeEnforcement enforcement)
{
    return enforcement == RangeEnforcement::Kernel ? "kernel" : "advisory";
}

std::string_view SysfsResourceMechanism::name() const
{
    return access_ == Access::WriteCombine ? "sysfs-wc" : "sysfs-uc";
}

std::optional<BrokerError> SysfsResourceMechanism::unsuitable(const DeviceFacts& device, const BarFacts& bar) const
{
    const std::string which = "BAR " + std::to_string(bar.index) + " of " + device.address;
    if (!bar.is_memory()) {
        return BrokerError{ErrorKind::Unsupported,
            which + " is an I/O port BAR, which cannot be memory-mapped; only memory BARs can be leased"};
    }
    if (access_ == Access::Uncached) {
        if (!bar.has_uc_file)
            return BrokerError{ErrorKind::Unsupported, which + " has no resource" + std::to_string(bar.index) + " file in sysfs"};
        return std::nullopt;
    }
    if (!bar.prefetchable) {
        return BrokerError{ErrorKind::Unsupported,
            which + " is not prefetchable, and the kernel maps only prefetchable memory BARs write-combining "
                    "(there is no resource" + std::to_string(bar.index) + "_wc); ask for uncached access instead"};
    }
    if (!bar.has_wc_file) {
        return BrokerError{ErrorKind::Unsupported,
            which + " is prefetchable but has no resource" + std::to_string(bar.index)
                + "_wc: this kernel or platform cannot map BARs write-combining (on x86, PAT is disabled)"};
    }
    return std::nullopt;
}

std::string sysfs_resource_file(const KernelPaths& paths, std::string_view address, std::uint32_t bar, Access access)
{
    return paths.pci_device(address) + "/resource" + std::to_string(bar) + (access == Access::WriteCombine ? "_wc" : "");
}

Expected<OpenedRange> SysfsResourceMechanism::open(const KernelPaths& paths, const DeviceFacts& device,
    const BarFacts& bar, std::uint64_t offset, std::uint64_t length) const
{
    const std::string file = sysfs_resource_file(paths, device.address, bar.index, access_);
    const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        const int error = errno;
        if (error == ENOENT || error == ENODEV)
            return BrokerError{ErrorKind::NoSuchDevice, device.address + " went away (" + file + " is gone)"};
        if (error == EACCES || error == EPERM) {
            return BrokerError{ErrorKind::Failed,
                "cannot open " + file + ": " + std::strerror(error) + " (wcbrokerd needs root for sysfs resource files)"};
        }
        return BrokerError{ErrorKind::Failed, "cannot open " + file + ": " + std::strerror(error)};
    }
    // sysfs resource offsets are BAR-relative (kernel-facts.md 1).
    return OpenedRange{UniqueFd(fd), file, offset, length};
}

} // namespace wcbroker
