#include "bus-client.hpp"

#include <cstdio>

namespace wcbroker::cli {

std::unique_ptr<sdbus::IConnection> connect_bus(const std::optional<std::string>& address)
{
    if (address)
        return sdbus::createSessionBusConnectionWithAddress(*address);
    return sdbus::createSystemBusConnection();
}

ManagedObjects managed_objects(sdbus::IConnection& connection, const std::string& destination)
{
    auto proxy = sdbus_compat::make_proxy(connection, destination, broker_path);
    ManagedObjects objects;
    proxy->callMethod("GetManagedObjects").onInterface("org.freedesktop.DBus.ObjectManager").storeResultsTo(objects);
    return objects;
}

std::map<std::string, Properties> objects_with(const ManagedObjects& objects, const std::string& interface)
{
    std::map<std::string, Properties> found;
    for (const auto& [path, interfaces] : objects) {
        if (auto it = interfaces.find(interface); it != interfaces.end())
            found.emplace(path, it->second);
    }
    return found;
}

int report(std::string_view verb, const sdbus::Error& error)
{
    const std::string& name = error.getName();
    const bool answered = name.rfind("org.wcbroker.Error.", 0) == 0 || name == "org.freedesktop.DBus.Error.InvalidArgs"
        || name == "org.freedesktop.DBus.Error.UnknownObject";
    std::string message = error.getMessage();
    if (name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner")
        message = "wcbrokerd is not running (" + message + "); start it with 'systemctl start wcbrokerd'";
    else if (name.rfind("System.Error.", 0) == 0)
        message = "cannot reach the D-Bus system bus: " + message;
    std::fprintf(stderr, "wcbrokerctl %.*s: %s (%s)\n", static_cast<int>(verb.size()), verb.data(), message.c_str(),
        name.c_str());
    return answered ? exit_no : exit_failure;
}

void insert_variant(toml::table& table, const std::string& key, const sdbus::Variant& value)
{
    const std::string type = value.peekValueType();
    // An object path must be read as one: sd-bus refuses to enter an "o"
    // variant as a string.
    if (type == "s")
        table.insert(key, value.get<std::string>());
    else if (type == "o")
        table.insert(key, std::string(value.get<sdbus::ObjectPath>()));
    else if (type == "b")
        table.insert(key, value.get<bool>());
    else if (type == "q")
        table.insert(key, static_cast<std::int64_t>(value.get<std::uint16_t>()));
    else if (type == "u")
        table.insert(key, static_cast<std::int64_t>(value.get<std::uint32_t>()));
    else if (type == "i")
        table.insert(key, static_cast<std::int64_t>(value.get<std::int32_t>()));
    else if (type == "t")
        table.insert(key, static_cast<std::int64_t>(value.get<std::uint64_t>()));
    else if (type == "as") {
        toml::array array;
        for (const std::string& item : value.get<std::vector<std::string>>())
            array.push_back(item);
        table.insert(key, std::move(array));
    }
}

std::vector<BarEntry> bars_of(const Properties& device)
{
    return device.at("Bars").get<std::vector<BarEntry>>();
}

const Properties* find_device(const std::map<std::string, Properties>& devices, const std::string& address)
{
    for (const auto& [path, properties] : devices) {
        if (properties.at("Address").get<std::string>() == address)
            return &properties;
    }
    return nullptr;
}

std::optional<std::uint64_t> bar_size(sdbus::IConnection& connection, const std::string& address, std::uint32_t bar)
{
    const auto devices = objects_with(managed_objects(connection), device_interface);
    if (const Properties* device = find_device(devices, address)) {
        for (const BarEntry& entry : bars_of(*device)) {
            if (std::get<0>(entry) == bar)
                return std::get<2>(entry);
        }
    }
    return std::nullopt;
}

void insert_device_properties(toml::table& table, const Properties& device)
{
    for (const auto& [name, value] : device)
        insert_variant(table, name, value);
    toml::array bars;
    for (const BarEntry& bar : bars_of(device)) {
        bars.push_back(toml::table{{"index", static_cast<std::int64_t>(std::get<0>(bar))},
            {"start", static_cast<std::int64_t>(std::get<1>(bar))}, {"size", static_cast<std::int64_t>(std::get<2>(bar))},
            {"kind", std::get<3>(bar)}, {"prefetchable", std::get<4>(bar)}, {"write_combining_capable", std::get<5>(bar)},
            {"claimed_by", std::get<6>(bar)}});
    }
    table.insert_or_assign("Bars", std::move(bars));
}

} // namespace wcbroker::cli
