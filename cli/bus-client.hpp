// What the online verbs share: the connection to wcbrokerd, the object tree
// in one call (ObjectManager.GetManagedObjects), and turning D-Bus errors
// into a message and an exit code.
#pragma once

#include "cli.hpp"
#include "sdbus-compat.hpp"

#include <map>
#include <memory>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace wcbroker::cli {

inline constexpr const char* broker_service = "org.wcbroker.Broker1";
inline constexpr const char* broker_path = "/org/wcbroker/Broker1";
inline constexpr const char* broker_interface = "org.wcbroker.Broker1";
inline constexpr const char* device_interface = "org.wcbroker.Device1";
inline constexpr const char* lease_interface = "org.wcbroker.Lease1";

using Properties = std::map<std::string, sdbus::Variant>;
using ManagedObjects = std::map<sdbus::ObjectPath, std::map<std::string, Properties>>;

// --bus ADDRESS, else the system bus ($DBUS_SYSTEM_BUS_ADDRESS is honoured).
std::unique_ptr<sdbus::IConnection> connect_bus(const std::optional<std::string>& address);

// From `destination`: wcbrokerd's well-known name by default, or a unique
// name, which the bus never activates a service for.
ManagedObjects managed_objects(sdbus::IConnection& connection, const std::string& destination = broker_service);

// The objects that implement `interface`, by path.
std::map<std::string, Properties> objects_with(const ManagedObjects& objects, const std::string& interface);

// Prints "wcbrokerctl VERB: message" and returns the exit code: exit_no when
// wcbrokerd answered no (org.wcbroker.Error.*, bad arguments), exit_failure
// when it could not be asked.
int report(std::string_view verb, const sdbus::Error& error);

// Property values as JSON-ready TOML nodes.
void insert_variant(toml::table& table, const std::string& key, const sdbus::Variant& value);

// One entry of Device1.Bars: index, start, size, kind, prefetchable,
// write-combining capable, claimed by.
using BarEntry = sdbus::Struct<std::uint32_t, std::uint64_t, std::uint64_t, std::string, bool, bool, std::string>;
std::vector<BarEntry> bars_of(const Properties& device);

// The device object whose Address is ADDRESS (canonical form), or nullptr.
const Properties* find_device(const std::map<std::string, Properties>& devices, const std::string& address);

// The size of BAR of the device at ADDRESS as wcbrokerd reports it; nullopt
// when it serves no such device or BAR.
std::optional<std::uint64_t> bar_size(sdbus::IConnection& connection, const std::string& address, std::uint32_t bar);

// A device object's properties as JSON, its Bars as tables with named fields.
void insert_device_properties(toml::table& table, const Properties& device);

} // namespace wcbroker::cli
