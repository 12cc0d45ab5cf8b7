// Who is calling, as the bus daemon recorded it when the client connected
// (org.freedesktop.DBus.GetConnectionCredentials: SO_PEERCRED's uid and pid,
// SO_PEERGROUPS' groups including the primary one). Never sd-bus's
// "augmented" credentials, which re-read /proc and can be raced. The unit
// and cgroup are read from /proc/PID/cgroup: best effort, documented as such.
//
// Unique names are never reused on a bus, and a connection's credentials
// never change, so they are cached per name until NameOwnerChanged says the
// connection is gone; that signal also tells the broker to drop the
// client's leases.
#pragma once

#include "authorizer.hpp"
#include "kernel-paths.hpp"
#include "sdbus-compat.hpp"

#include <functional>
#include <map>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>
#include <string>

namespace wcbroker {

class BusCredentials {
public:
    BusCredentials(sdbus::IConnection& connection, KernelPaths paths,
        std::function<void(const std::string& unique_name)> on_disconnect);

    // Throws sdbus::Error when the bus cannot say (the client already left).
    Caller caller(const std::string& unique_name);
    Caller caller(const sdbus::Message& message) { return caller(sdbus_compat::sender_of(message)); }

    // This bus instance's id (org.freedesktop.DBus.GetId): a unique name
    // means the same connection only within one instance.
    std::string bus_id();

private:
    void on_bus_signal(sdbus::Message& message);
    void name_owner_changed(const std::string& name, const std::string& old_owner, const std::string& new_owner);

    KernelPaths paths_;
    std::unique_ptr<sdbus::IProxy> bus_;
    std::function<void(const std::string&)> on_disconnect_;
    std::map<std::string, Caller> cache_;
    sdbus::Slot owner_changes_;
};

// Whether MESSAGE comes from the bus driver itself. The bus writes every
// message's sender field, so a client cannot pass for it.
inline bool sent_by_bus_driver(const sdbus::Message& message)
{
    return sdbus_compat::sender_of(message) == "org.freedesktop.DBus";
}

} // namespace wcbroker
