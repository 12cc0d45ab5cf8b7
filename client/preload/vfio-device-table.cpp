#include "vfio-device-table.hpp"

namespace wcbroker::preload {

std::optional<std::string> device_name_of(std::string_view argument)
{
    const auto end = argument.find_first_of(" \t\n");
    std::string_view name = argument.substr(0, end);
    if (name.empty())
        return std::nullopt;
    return std::string(name);
}

VfioDeviceTable::~VfioDeviceTable()
{
    for (Device*& slot : devices_)
        delete __atomic_exchange_n(&slot, nullptr, __ATOMIC_ACQ_REL);
}

VfioDeviceTable::Device* VfioDeviceTable::device(int fd) const
{
    if (fd < 0 || fd >= max_fd)
        return nullptr;
    return __atomic_load_n(&devices_[fd], __ATOMIC_ACQUIRE);
}

bool VfioDeviceTable::add_device(int fd, std::string_view argument, FileIdentity identity)
{
    auto name = device_name_of(argument);
    if (!name || fd < 0 || fd >= max_fd)
        return false;
    auto fresh = std::make_unique<Device>();
    fresh->name = std::move(*name);
    fresh->identity = identity;
    // A number reused behind our back (dup2, close_range) is a new device.
    delete __atomic_exchange_n(&devices_[fd], fresh.release(), __ATOMIC_ACQ_REL);
    return true;
}

std::optional<FileIdentity> VfioDeviceTable::identity(int fd) const
{
    const Device* known = device(fd);
    if (known == nullptr)
        return std::nullopt;
    return known->identity;
}

void VfioDeviceTable::add_region(int fd, const vfio_region_info& info)
{
    Device* known = device(fd);
    if (known == nullptr || info.index > VFIO_PCI_BAR5_REGION_INDEX)
        return;
    known->bars[info.index] = Region{info.offset, info.size, info.flags};
}

bool VfioDeviceTable::knows_regions(int fd) const
{
    const Device* known = device(fd);
    if (known == nullptr)
        return false;
    for (const auto& bar : known->bars) {
        if (bar)
            return true;
    }
    return false;
}

std::optional<BarSlice> VfioDeviceTable::find(int fd, std::uint64_t offset, std::uint64_t length) const
{
    const Device* known = device(fd);
    if (known == nullptr)
        return std::nullopt;
    for (unsigned index = 0; index < known->bars.size(); ++index) {
        const auto& region = known->bars[index];
        if (!region || region->size == 0 || offset < region->offset)
            continue;
        const std::uint64_t into = offset - region->offset;
        if (into >= region->size || length > region->size - into)
            continue;
        return BarSlice{known->name, index, into, *region};
    }
    return std::nullopt;
}

void VfioDeviceTable::forget(int fd)
{
    if (fd < 0 || fd >= max_fd)
        return;
    delete __atomic_exchange_n(&devices_[fd], nullptr, __ATOMIC_ACQ_REL);
}

} // namespace wcbroker::preload
