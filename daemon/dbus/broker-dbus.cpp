#include "broker-dbus.hpp"

#include "dbus-arguments.hpp"
#include "dbus-error.hpp"
#include "sdbus-compat.hpp"
#include "vfio-features.hpp"

#include "wcbroker-config.h"

namespace wcbroker {

class ManagerObject final
    : public sdbus::AdaptorInterfaces<org::wcbroker::Broker1_adaptor, sdbus::ObjectManager_adaptor,
          sdbus::Properties_adaptor> {
public:
    ManagerObject(sdbus::IConnection& connection, Broker& broker, BusCredentials& credentials,
        const DeviceTracker& tracker)
        : AdaptorInterfaces(connection, sdbus::ObjectPath("/org/wcbroker/Broker1"))
        , broker_(broker)
        , credentials_(credentials)
        , tracker_(tracker)
    {
        registerAdaptor();
    }
    ~ManagerObject() { unregisterAdaptor(); }

    // PropertiesChanged on Broker1 for these of its properties.
    void properties_changed(const std::vector<std::string>& names)
    {
        sdbus_compat::emit_properties_changed(getObject(), org::wcbroker::Broker1_adaptor::INTERFACE_NAME, names);
    }

private:
    Caller caller() { return credentials_.caller(sdbus_compat::current_sender(getObject())); }

    template <typename T>
    T checked(Expected<T> result)
    {
        if (!result)
            throw_dbus_error(result.error());
        return std::move(result.value());
    }

    std::vector<sdbus::Struct<sdbus::ObjectPath, std::string, uint16_t, uint16_t>> ListDevices() override
    {
        std::vector<sdbus::Struct<sdbus::ObjectPath, std::string, uint16_t, uint16_t>> devices;
        for (const DeviceRecord* record : checked(broker_.list_devices(caller()))) {
            devices.emplace_back(sdbus::ObjectPath(device_object_path(record->facts.address)), record->facts.address,
                record->facts.vendor_id, record->facts.device_id);
        }
        return devices;
    }

    std::tuple<sdbus::ObjectPath, sdbus::UnixFd, uint64_t, uint64_t, std::string, std::map<std::string, sdbus::Variant>>
    Acquire(const std::string& device, const uint32_t& bar, const uint64_t& offset, const uint64_t& length,
        const std::string& access, const std::map<std::string, sdbus::Variant>& options) override
    {
        AcquireGrant grant =
            checked(broker_.acquire(caller(), checked(acquire_arguments(device, bar, offset, length, access, options))));
        const Lease& lease = *grant.lease;
        std::map<std::string, sdbus::Variant> info{
            {"mechanism", sdbus::Variant(lease.mechanism)},
            {"range_enforcement", sdbus::Variant(std::string(range_enforcement_name(lease.range_enforcement)))},
            {"rule", sdbus::Variant(lease.rule_label)},
            {"verification", sdbus::Variant(lease.verification)},
            {"policy_generation", sdbus::Variant(lease.policy_generation)},
            {"audit_only", sdbus::Variant(lease.audit_only)},
            {"bar_size", sdbus::Variant(grant.bar_size)},
        };
        return {sdbus::ObjectPath(lease_object_path(lease.id)), sdbus::UnixFd(grant.fd.release(), sdbus::adopt_fd),
            grant.mmap_offset, lease.request.length, std::string(memtype_name(lease.memtype)), std::move(info)};
    }

    std::tuple<bool, std::string, std::string, std::string> Explain(const std::string& device, const uint32_t& bar,
        const uint64_t& offset, const uint64_t& length, const std::string& access) override
    {
        ExplainAnswer answer = checked(broker_.explain(caller(), request_arguments(device, bar, offset, length, access)));
        return {answer.allowed, answer.rule, answer.reason, answer.mechanism};
    }

    std::vector<sdbus::Struct<uint64_t, uint64_t, std::string, std::string>> ListGrants(const std::string& device,
        const uint32_t& bar) override
    {
        std::vector<sdbus::Struct<uint64_t, uint64_t, std::string, std::string>> grants;
        for (const Grant& grant : checked(broker_.list_grants(caller(), device, bar)))
            grants.emplace_back(grant.range.offset, grant.range.length, std::string(access_name(grant.access)),
                grant.rule->name);
        return grants;
    }

    std::vector<sdbus::Struct<sdbus::ObjectPath, std::string, uint32_t, uint64_t, uint64_t, std::string, std::string,
        std::string, uint32_t>>
    ListLeases() override
    {
        std::vector<sdbus::Struct<sdbus::ObjectPath, std::string, uint32_t, uint64_t, uint64_t, std::string,
            std::string, std::string, uint32_t>>
            leases;
        for (const Lease* lease : checked(broker_.list_leases(caller()))) {
            leases.emplace_back(sdbus::ObjectPath(lease_object_path(lease->id)), lease->address, lease->request.bar,
                lease->request.offset, lease->request.length, std::string(access_name(lease->request.access)),
                std::string(memtype_name(lease->memtype)), lease->owner, lease->holder.uid);
        }
        return leases;
    }

    std::tuple<uint64_t, std::vector<std::string>> Reload() override
    {
        ReloadOutcome outcome = checked(broker_.reload(caller()));
        std::vector<std::string> warnings;
        for (const Diagnostic& diagnostic : outcome.diagnostics.all())
            warnings.push_back(diagnostic.to_string());
        return {outcome.generation, warnings};
    }

    std::string Version() override { return WCBROKER_VERSION; }
    uint64_t PolicyGeneration() override { return broker_.policy().generation(); }
    std::string PolicyMode() override { return std::string(enforcement_mode_name(broker_.policy().current()->mode)); }
    // Always empty. Where the policy lives is root's business, and a
    // property getter cannot tell who asks: sdbus-c++ 1.2 gives it no
    // message (getCurrentlyProcessedMessage() is null there). Root finds the
    // files in the policy-reloaded audit record and with check-policy.
    std::vector<std::string> PolicyFiles() override { return {}; }
    std::string UdevSource() override { return std::string(udev_source_name(tracker_.source())); }
    std::vector<sdbus::Struct<std::string, bool, std::string>> KernelCapabilities() override
    {
        std::vector<sdbus::Struct<std::string, bool, std::string>> capabilities;
        if (auto kernel = KernelVersion::running()) {
            for (const VfioCapability& capability : vfio_capabilities(*kernel))
                capabilities.emplace_back(capability.name, capability.available, capability.basis);
        }
        for (const WcaliasCapability& capability : wcalias_capabilities(broker_.wcalias()))
            capabilities.emplace_back(capability.name, capability.available, capability.basis);
        return capabilities;
    }

    Broker& broker_;
    BusCredentials& credentials_;
    const DeviceTracker& tracker_;
};

BrokerDbus::BrokerDbus(sdbus::IConnection& connection, EventLoop& loop, Broker& broker, BusCredentials& credentials,
    const DeviceTracker& tracker)
    : connection_(connection)
    , loop_(loop)
    , broker_(broker)
    , credentials_(credentials)
    , tracker_(tracker)
    , manager_(std::make_unique<ManagerObject>(connection, broker, credentials, tracker))
{
    // Devices found before the bus came up.
    for (const DeviceRecord* record : tracker.registry().devices())
        devices_.emplace(record->facts.address,
            std::make_unique<DeviceObject>(connection_, tracker.registry(), broker_.mapper(), record->facts.address));
}

BrokerDbus::~BrokerDbus() = default;

void BrokerDbus::queue_signal(std::function<void()> emit)
{
    if (pending_signals_.empty())
        loop_.post([this] { flush_signals(); });
    pending_signals_.push_back(std::move(emit));
}

void BrokerDbus::flush_signals()
{
    std::vector<std::function<void()>> signals = std::move(pending_signals_);
    pending_signals_.clear();
    for (auto& emit : signals)
        emit();
    retired_.clear();
    retired_devices_.clear();
}

void BrokerDbus::lease_granted(const Lease& lease)
{
    auto object = std::make_unique<LeaseObject>(connection_, broker_, credentials_, lease);
    LeaseObject* raw = object.get();
    leases_.emplace(lease.id, std::move(object));
    queue_signal([raw] { raw->emitInterfacesAddedSignal(); });
}

void BrokerDbus::lease_ending(const Lease& lease, LeaseEnd how, const std::string& notice)
{
    auto it = leases_.find(lease.id);
    if (it == leases_.end())
        return;
    LeaseObject* raw = it->second.get();
    // Every end the owner did not ask for, and only to the owner.
    if (how == LeaseEnd::Revoked || how == LeaseEnd::ReleasedByAnother)
        queue_signal([raw, notice] { raw->tell_owner_revoked(notice); });
    queue_signal([raw] { raw->emitInterfacesRemovedSignal(); });
    retired_.push_back(std::move(it->second));
    leases_.erase(it);
}

void BrokerDbus::device_added(const DeviceRecord& record)
{
    const std::string address = record.facts.address;
    if (auto old = devices_.find(address); old != devices_.end()) {
        retired_devices_.push_back(std::move(old->second));
        devices_.erase(old);
    }
    // An object path is registered once: the address's old object (retired
    // just now, or by a removal whose signals are still queued, as when an
    // unbind and the rebind arrive together) must be gone, its signals sent,
    // before the new one registers. sd-bus refuses the second vtable.
    if (!retired_devices_.empty())
        flush_signals();
    auto object = std::make_unique<DeviceObject>(connection_, tracker_.registry(), broker_.mapper(), address);
    DeviceObject* raw = object.get();
    devices_.emplace(address, std::move(object));
    queue_signal([this, raw, address] {
        raw->emitInterfacesAddedSignal();
        manager_->emitDeviceAdded(sdbus::ObjectPath(device_object_path(address)), address);
    });
}

void BrokerDbus::device_removed(const DeviceFacts& facts, const std::string& reason)
{
    DeviceObject* raw = nullptr;
    if (auto it = devices_.find(facts.address); it != devices_.end()) {
        raw = it->second.get();
        retired_devices_.push_back(std::move(it->second));
        devices_.erase(it);
    }
    const std::string address = facts.address;
    queue_signal([this, raw, address, reason] {
        if (raw != nullptr)
            raw->emitInterfacesRemovedSignal();
        manager_->emitDeviceRemoved(sdbus::ObjectPath(device_object_path(address)), address, reason);
    });
}

void BrokerDbus::lease_redecided(const Lease& lease)
{
    auto found = leases_.find(lease.id);
    if (found == leases_.end())
        return;
    found->second->refresh(lease);
    LeaseObject* raw = found->second.get();
    queue_signal([raw] {
        raw->properties_changed({"Rule", "PolicyGeneration", "AuditOnly"});
    });
}

void BrokerDbus::policy_reloaded(std::uint64_t generation)
{
    queue_signal([this, generation] {
        manager_->emitPolicyReloaded(generation);
        // Not PolicyFiles: it no longer changes (always empty, see above).
        manager_->properties_changed({"PolicyGeneration", "PolicyMode"});
    });
}

} // namespace wcbroker
