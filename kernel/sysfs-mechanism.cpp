#include "sysfs-mechanism.hpp"

#include "sysfs-files.hpp"
#include "text-scan.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>

namespace wcbroker {
namespace {

std::optional<std::uint16_t> id_attribute_at(int dir_fd, const char* name)
{
    auto text = read_attribute_at(dir_fd, name);
    if (!text)
        return std::nullopt;
    std::string_view digits = *text;
    if (digits.starts_with("0x"))
        digits.remove_prefix(2);
    return parse_whole_number<std::uint16_t>(digits, 16);
}

std::string hex_id(std::optional<std::uint16_t> id)
{
    if (!id)
        return "unreadable";
    char text[8];
    std::snprintf(text, sizeof text, "%04x", static_cast<unsigned>(*id));
    return text;
}

// The decision was taken on facts read earlier; between then and the open,
// the device may have been unbound and handed to another driver, or removed
// and re-created (a VF) as another device at the same address. Read through
// the directory the resource file was opened from, this sees the device the
// fd belongs to, not whatever the path names now.
std::optional<BrokerError> identity_mismatch(int dir_fd, const DeviceFacts& device)
{
    const std::string driver = read_link_name_at(dir_fd, "driver").value_or("");
    const auto vendor = id_attribute_at(dir_fd, "vendor");
    const auto device_id = id_attribute_at(dir_fd, "device");
    if (driver == device.driver && vendor == device.vendor_id && device_id == device.device_id)
        return std::nullopt;
    return BrokerError{ErrorKind::NoSuchDevice,
        device.address + " changed while the request was decided: it was " + hex_id(device.vendor_id) + ":"
            + hex_id(device.device_id) + " on " + (device.driver.empty() ? "no driver" : device.driver) + ", it is "
            + hex_id(vendor) + ":" + hex_id(device_id) + " on " + (driver.empty() ? "no driver" : driver)
            + "; nothing was handed out"};
}

} // namespace

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
    const std::string directory = paths.pci_device(device.address);
    const UniqueFd dir_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() < 0) {
        const int error = errno;
        if (error == ENOENT || error == ENODEV)
            return BrokerError{ErrorKind::NoSuchDevice, device.address + " went away (" + directory + " is gone)"};
        return BrokerError{ErrorKind::Failed, "cannot open " + directory + ": " + std::strerror(error)};
    }
    const std::string name = "resource" + std::to_string(bar.index) + (access_ == Access::WriteCombine ? "_wc" : "");
    const std::string file = directory + "/" + name;
    const int fd = ::openat(dir_fd.get(), name.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
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
    UniqueFd opened(fd);
    // After the open, so that what is checked is what the fd will map.
    if (auto mismatch = identity_mismatch(dir_fd.get(), device))
        return *mismatch;
    // sysfs resource offsets are BAR-relative (kernel-facts.md 1).
    OpenedRange range;
    range.fd = std::move(opened);
    range.path = file;
    range.mmap_offset = offset;
    range.length = length;
    return range;
}

} // namespace wcbroker
