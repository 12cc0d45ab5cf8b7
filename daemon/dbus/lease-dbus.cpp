#include "lease-dbus.hpp"

#include "broker.hpp"
#include "dbus-error.hpp"
#include "sdbus-compat.hpp"

namespace wcbroker {

LeaseObject::LeaseObject(sdbus::IConnection& connection, Broker& broker, BusCredentials& credentials,
    const LeaseInfo& lease)
    : AdaptorInterfaces(connection, sdbus::ObjectPath(lease_object_path(lease.id)))
    , broker_(broker)
    , credentials_(credentials)
    , lease_(lease)
{
    registerAdaptor();
}

LeaseObject::~LeaseObject()
{
    unregisterAdaptor();
}

void LeaseObject::refresh(const LeaseInfo& lease)
{
    lease_.rule_label = lease.rule_label;
    lease_.policy_generation = lease.policy_generation;
    lease_.audit_only = lease.audit_only;
}

void LeaseObject::tell_owner_revoked(const std::string& notice)
{
    sdbus::Signal signal = sdbus_compat::make_signal(getObject(), org::wcbroker::Lease1_adaptor::INTERFACE_NAME, "Revoked");
    signal << notice;
    signal.setDestination(lease_.owner);
    getObject().emitSignal(signal);
}

void LeaseObject::properties_changed(const std::vector<std::string>& names)
{
    sdbus_compat::emit_properties_changed(getObject(), org::wcbroker::Lease1_adaptor::INTERFACE_NAME, names);
}

void LeaseObject::Release()
{
    auto released = broker_.release(credentials_.caller(sdbus_compat::current_sender(getObject())), lease_.id);
    if (!released)
        throw_dbus_error(released.error());
}

uint64_t LeaseObject::Id()
{
    return lease_.id;
}

sdbus::ObjectPath LeaseObject::Device()
{
    return sdbus::ObjectPath(device_object_path(lease_.address));
}

std::string LeaseObject::Address()
{
    return lease_.address;
}

uint32_t LeaseObject::Bar()
{
    return lease_.request.bar;
}

uint64_t LeaseObject::Offset()
{
    return lease_.request.offset;
}

uint64_t LeaseObject::Length()
{
    return lease_.request.length;
}

std::string LeaseObject::Access()
{
    return std::string(access_name(lease_.request.access));
}

std::string LeaseObject::Memtype()
{
    return std::string(memtype_name(lease_.memtype));
}

std::string LeaseObject::Verification()
{
    return lease_.verification;
}

std::string LeaseObject::Mechanism()
{
    return lease_.mechanism;
}

std::string LeaseObject::RangeEnforcement()
{
    return std::string(range_enforcement_name(lease_.range_enforcement));
}

std::string LeaseObject::Owner()
{
    return lease_.owner;
}

uint32_t LeaseObject::Uid()
{
    return lease_.holder.uid;
}

uint32_t LeaseObject::Pid()
{
    return static_cast<uint32_t>(lease_.holder.pid);
}

std::string LeaseObject::Rule()
{
    return lease_.rule_label;
}

uint64_t LeaseObject::PolicyGeneration()
{
    return lease_.policy_generation;
}

std::string LeaseObject::Label()
{
    return lease_.label;
}

uint64_t LeaseObject::CreatedRealtime()
{
    return lease_.created_realtime_usec;
}

bool LeaseObject::AuditOnly()
{
    return lease_.audit_only;
}

} // namespace wcbroker
