#include "lease-dbus.hpp"

#include "broker.hpp"
#include "dbus-error.hpp"

namespace wcbroker {

LeaseObject::LeaseObject(sdbus::IConnection& connection, Broker& broker, BusCredentials& credentials,
    const Lease& lease)
    : AdaptorInterfaces(connection, lease_object_path(lease.id))
    , broker_(broker)
    , credentials_(credentials)
    , id_(lease.id)
    , address_(lease.address)
    , request_(lease.request)
    , memtype_(lease.memtype)
    , verification_(lease.verification)
    , mechanism_(lease.mechanism)
    , range_enforcement_(lease.range_enforcement)
    , owner_(lease.owner)
    , uid_(lease.holder.uid)
    , pid_(lease.holder.pid)
    , rule_(lease.rule_label)
    , policy_generation_(lease.policy_generation)
    , label_(lease.label)
    , created_realtime_usec_(lease.created_realtime_usec)
    , audit_only_(lease.audit_only)
{
    registerAdaptor();
}

LeaseObject::~LeaseObject()
{
    unregisterAdaptor();
}

void LeaseObject::refresh(const Lease& lease)
{
    rule_ = lease.rule_label;
    policy_generation_ = lease.policy_generation;
    audit_only_ = lease.audit_only;
}

void LeaseObject::tell_owner_revoked(const std::string& notice)
{
    sdbus::Signal signal = getObject().createSignal(org::wcbroker::Lease1_adaptor::INTERFACE_NAME, "Revoked");
    signal << notice;
    signal.setDestination(owner_);
    getObject().emitSignal(signal);
}

void LeaseObject::Release()
{
    auto released = broker_.release(credentials_.caller(*getObject().getCurrentlyProcessedMessage()), id_);
    if (!released)
        throw_dbus_error(released.error());
}

uint64_t LeaseObject::Id()
{
    return id_;
}

sdbus::ObjectPath LeaseObject::Device()
{
    return sdbus::ObjectPath(device_object_path(address_));
}

std::string LeaseObject::Address()
{
    return address_;
}

uint32_t LeaseObject::Bar()
{
    return request_.bar;
}

uint64_t LeaseObject::Offset()
{
    return request_.offset;
}

uint64_t LeaseObject::Length()
{
    return request_.length;
}

std::string LeaseObject::Access()
{
    return std::string(access_name(request_.access));
}

std::string LeaseObject::Memtype()
{
    return std::string(memtype_name(memtype_));
}

std::string LeaseObject::Verification()
{
    return verification_;
}

std::string LeaseObject::Mechanism()
{
    return mechanism_;
}

std::string LeaseObject::RangeEnforcement()
{
    return std::string(range_enforcement_name(range_enforcement_));
}

std::string LeaseObject::Owner()
{
    return owner_;
}

uint32_t LeaseObject::Uid()
{
    return uid_;
}

uint32_t LeaseObject::Pid()
{
    return static_cast<uint32_t>(pid_);
}

std::string LeaseObject::Rule()
{
    return rule_;
}

uint64_t LeaseObject::PolicyGeneration()
{
    return policy_generation_;
}

std::string LeaseObject::Label()
{
    return label_;
}

uint64_t LeaseObject::CreatedRealtime()
{
    return created_realtime_usec_;
}

bool LeaseObject::AuditOnly()
{
    return audit_only_;
}

} // namespace wcbroker
