// org.wcbroker.Broker1 at /org/wcbroker/Broker1, with the ObjectManager, and
// the device and lease objects under it. Only translation happens here:
// resolve the caller, call the broker, turn errors into D-Bus errors, and
// mirror broker events as objects and signals.
#pragma once

#include "broker.hpp"
#include "bus-credentials.hpp"
#include "device-dbus.hpp"
#include "lease-dbus.hpp"

#include "org.wcbroker.Broker1-adaptor.h"

#include <functional>
#include <map>
#include <memory>

namespace wcbroker {

class ManagerObject;

class BrokerDbus final : public BrokerObserver {
public:
    BrokerDbus(sdbus::IConnection& connection, EventLoop& loop, Broker& broker, BusCredentials& credentials,
        const DeviceTracker& tracker);
    ~BrokerDbus() override;

    void lease_granted(const Lease& lease) override;
    void lease_ending(const Lease& lease, LeaseEnd how, const std::string& notice) override;
    void device_added(const DeviceRecord& record) override;
    void lease_redecided(const Lease& lease) override;
    void device_removed(const DeviceFacts& facts, const std::string& reason) override;
    void policy_reloaded(std::uint64_t generation) override;

private:
    sdbus::IConnection& connection_;
    EventLoop& loop_;
    Broker& broker_;
    BusCredentials& credentials_;
    const DeviceTracker& tracker_;
    std::unique_ptr<ManagerObject> manager_;
    std::map<std::string, std::unique_ptr<DeviceObject>> devices_;
    std::map<std::uint64_t, std::unique_ptr<LeaseObject>> leases_;

    // Signals go out in order right after the current method's reply, not
    // before it: a client waiting for Acquire or Release should not wait for
    // the bus to route signals first. All of them share one queue, so
    // observers see a revocation before the device removal that caused it.
    void queue_signal(std::function<void()> emit);
    void flush_signals();
    std::vector<std::function<void()>> pending_signals_;
    // Objects that left: one may be dispatching its own Release() right now,
    // and the queued signals use them. Destroyed after the flush.
    std::vector<std::unique_ptr<LeaseObject>> retired_;
    std::vector<std::unique_ptr<DeviceObject>> retired_devices_;
};

} // namespace wcbroker
