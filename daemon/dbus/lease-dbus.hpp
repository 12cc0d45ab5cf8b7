// org.wcbroker.Lease1: one lease on the bus, live view of the lease table.
#pragma once

#include "bus-credentials.hpp"
#include "lease.hpp"

#include "org.wcbroker.Lease1-adaptor.h"

#include <sdbus-c++/sdbus-c++.h>

#include <string>
#include <vector>

namespace wcbroker {

class Broker;

class LeaseObject final
    : public sdbus::AdaptorInterfaces<org::wcbroker::Lease1_adaptor, sdbus::ManagedObject_adaptor,
          sdbus::Properties_adaptor> {
public:
    LeaseObject(sdbus::IConnection& connection, Broker& broker, BusCredentials& credentials, const LeaseInfo& lease);
    ~LeaseObject();

    // What a reload may change; the rest of a lease never does.
    void refresh(const LeaseInfo& lease);

    // Lease1.Revoked as a unicast signal to the owner's connection: other
    // clients have no business knowing why someone else's lease ended.
    void tell_owner_revoked(const std::string& notice);

    // PropertiesChanged on Lease1 for these of its properties.
    void properties_changed(const std::vector<std::string>& names);

private:

    void Release() override;
    uint64_t Id() override;
    sdbus::ObjectPath Device() override;
    std::string Address() override;
    uint32_t Bar() override;
    uint64_t Offset() override;
    uint64_t Length() override;
    std::string Access() override;
    std::string Memtype() override;
    std::string Verification() override;
    std::string Mechanism() override;
    std::string RangeEnforcement() override;
    std::string Owner() override;
    uint32_t Uid() override;
    uint32_t Pid() override;
    std::string Rule() override;
    uint64_t PolicyGeneration() override;
    std::string Label() override;
    uint64_t CreatedRealtime() override;
    bool AuditOnly() override;

    Broker& broker_;
    BusCredentials& credentials_;
    // A copy, not a lookup: the object can outlive its lease for a moment
    // (until the InterfacesRemoved signal is out) and must still answer.
    LeaseInfo lease_;
};

} // namespace wcbroker
