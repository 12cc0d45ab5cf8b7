#include "device-dbus.hpp"

#include "dbus-error.hpp"

namespace wcbroker {

DeviceObject::DeviceObject(sdbus::IConnection& connection, const DeviceRegistry& registry, RangeMapper& mapper,
    std::string address)
    : AdaptorInterfaces(connection, sdbus::ObjectPath(device_object_path(address)))
    , registry_(registry)
    , mapper_(mapper)
    , address_(std::move(address))
{
    if (const DeviceRecord* record = registry_.find(address_))
        last_known_ = record->facts;
    registerAdaptor();
}

DeviceObject::~DeviceObject()
{
    unregisterAdaptor();
}

const DeviceFacts& DeviceObject::facts() const
{
    const DeviceRecord* record = registry_.find(address_);
    return record != nullptr ? record->facts : last_known_;
}

std::string DeviceObject::Address()
{
    return address_;
}

uint16_t DeviceObject::VendorId()
{
    return facts().vendor_id;
}

uint16_t DeviceObject::DeviceId()
{
    return facts().device_id;
}

uint16_t DeviceObject::SubsystemVendorId()
{
    return facts().subsystem_vendor_id;
}

uint16_t DeviceObject::SubsystemDeviceId()
{
    return facts().subsystem_device_id;
}

uint32_t DeviceObject::Class()
{
    return facts().class_code;
}

std::string DeviceObject::Driver()
{
    return facts().driver;
}

int32_t DeviceObject::IommuGroup()
{
    return facts().iommu_group ? static_cast<int32_t>(*facts().iommu_group) : -1;
}

std::vector<std::string> DeviceObject::IommuGroupMembers()
{
    return facts().iommu_group_members;
}

int32_t DeviceObject::NumaNode()
{
    return facts().numa_node;
}

std::vector<sdbus::Struct<uint32_t, uint64_t, uint64_t, std::string, bool, bool, std::string>> DeviceObject::Bars()
{
    std::vector<sdbus::Struct<uint32_t, uint64_t, uint64_t, std::string, bool, bool, std::string>> bars;
    const DeviceFacts& device = facts();
    const std::vector<std::optional<std::string>> holders = mapper_.claimants(device);
    for (std::size_t i = 0; i < device.bars.size(); ++i) {
        const BarFacts& bar = device.bars[i];
        bars.emplace_back(bar.index, bar.start, bar.size, std::string(bar_kind_name(bar.kind)), bar.prefetchable,
            bar.has_wc_file, holders[i].value_or(""));
    }
    return bars;
}

std::string DeviceObject::State()
{
    return registry_.find(address_) != nullptr ? "ready" : "removed";
}

} // namespace wcbroker
