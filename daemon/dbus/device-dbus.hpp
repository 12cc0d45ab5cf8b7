// org.wcbroker.Device1: one served device on the bus. Properties read the
// registry each time, so they show the device as it is now.
#pragma once

#include "device-registry.hpp"
#include "range-mapper.hpp"

#include "org.wcbroker.Device1-adaptor.h"

#include <sdbus-c++/sdbus-c++.h>

namespace wcbroker {

class DeviceObject final
    : public sdbus::AdaptorInterfaces<org::wcbroker::Device1_adaptor, sdbus::ManagedObject_adaptor,
          sdbus::Properties_adaptor> {
public:
    DeviceObject(sdbus::IConnection& connection, const DeviceRegistry& registry, RangeMapper& mapper,
        std::string address);
    ~DeviceObject();

private:
    const DeviceFacts& facts() const;

    std::string Address() override;
    uint16_t VendorId() override;
    uint16_t DeviceId() override;
    uint16_t SubsystemVendorId() override;
    uint16_t SubsystemDeviceId() override;
    uint32_t Class() override;
    std::string Driver() override;
    int32_t IommuGroup() override;
    std::vector<std::string> IommuGroupMembers() override;
    int32_t NumaNode() override;
    std::vector<sdbus::Struct<uint32_t, uint64_t, uint64_t, std::string, bool, bool, std::string>> Bars() override;
    std::string State() override;

    const DeviceRegistry& registry_;
    RangeMapper& mapper_;
    std::string address_;
    DeviceFacts last_known_; // what to show if asked in the moment after removal
};

} // namespace wcbroker
