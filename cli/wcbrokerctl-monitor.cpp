// wcbrokerctl monitor: devices, leases and revocations as they happen.

#include "bus-client.hpp"
#include "matching.hpp"
#include "online-options.hpp"
#include "verbs.hpp"

#include <algorithm>
#include <cstdio>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl monitor [--json] [--bus ADDRESS]

Print wcbrokerd's events as they happen, until interrupted: devices
appearing and going (with the reason), leases granted and ended, policy
reloads. With --json, one JSON object per line. Why a lease was revoked
is sent to its owner only (Lease1.Revoked) and is in the audit log
(journalctl MESSAGE_ID=126681983ec74cffb32678213b81906f).

Exit status: 2 usage error, 3 wcbrokerd or the bus unreachable.
)";

constexpr OnlineVerbSyntax syntax{
    .verb = "monitor", .help_text = help_text, .argument_count = 0, .argument_count_error = "takes no arguments"};

class Monitor {
public:
    explicit Monitor(bool json)
        : json_(json)
    {
    }

    // wcbrokerd's unique name: only its signals are shown.
    void follow(const std::string& daemon_name) { daemon_ = daemon_name; }

    void on_owner_changed(sdbus::Message& message)
    {
        if (sdbus_compat::sender_of(message) != "org.freedesktop.DBus")
            return;
        try {
            std::string name, old_owner, new_owner;
            message >> name >> old_owner >> new_owner;
            if (name == broker_service)
                daemon_ = new_owner;
        } catch (const std::exception&) {
        }
    }

    // Any client can send a unicast signal to this connection, and sd-bus
    // does not check a well-known sender in a match itself: signals from
    // anyone but wcbrokerd, or with arguments of the wrong types, are ignored.
    void on_signal(sdbus::Message& message)
    {
        if (daemon_.empty() || sdbus_compat::sender_of(message) != daemon_)
            return;
        try {
            show(message);
        } catch (const std::exception&) {
        }
    }

private:
    void show(sdbus::Message& message)
    {
        const std::string member = message.getMemberName();
        const std::string interface = message.getInterfaceName();
        const std::string path = message.getPath();
        if (interface == broker_interface && member == "DeviceAdded") {
            sdbus::ObjectPath object;
            std::string address;
            message >> object >> address;
            emit(toml::table{{"event", "device-added"}, {"device", address}}, "device added:   " + address);
        } else if (interface == broker_interface && member == "DeviceRemoved") {
            sdbus::ObjectPath object;
            std::string address, reason;
            message >> object >> address >> reason;
            emit(toml::table{{"event", "device-removed"}, {"device", address}, {"reason", reason}},
                "device removed: " + address + " (" + reason + ")");
        } else if (interface == broker_interface && member == "PolicyReloaded") {
            std::uint64_t generation = 0;
            message >> generation;
            emit(toml::table{{"event", "policy-reloaded"}, {"generation", static_cast<std::int64_t>(generation)}},
                "policy reloaded: generation " + std::to_string(generation));
        } else if (interface == "org.freedesktop.DBus.ObjectManager" && member == "InterfacesAdded") {
            sdbus::ObjectPath object;
            std::map<std::string, Properties> interfaces;
            message >> object >> interfaces;
            auto lease = interfaces.find(lease_interface);
            if (lease == interfaces.end())
                return;
            const Properties& p = lease->second;
            emit(toml::table{{"event", "lease-granted"}, {"lease", std::string(object)}, {"device", p.at("Address").get<std::string>()},
                     {"bar", static_cast<std::int64_t>(p.at("Bar").get<std::uint32_t>())},
                     {"offset", static_cast<std::int64_t>(p.at("Offset").get<std::uint64_t>())},
                     {"length", static_cast<std::int64_t>(p.at("Length").get<std::uint64_t>())},
                     {"access", p.at("Access").get<std::string>()}, {"memtype", p.at("Memtype").get<std::string>()},
                     {"uid", static_cast<std::int64_t>(p.at("Uid").get<std::uint32_t>())}},
                "lease granted:  " + std::string(object) + " " + p.at("Address").get<std::string>() + " BAR "
                    + std::to_string(p.at("Bar").get<std::uint32_t>()) + " "
                    + describe_range(p.at("Offset").get<std::uint64_t>(), p.at("Length").get<std::uint64_t>()) + " "
                    + p.at("Access").get<std::string>()
                    + ", " + p.at("Memtype").get<std::string>() + ", uid " + std::to_string(p.at("Uid").get<std::uint32_t>()));
        } else if (interface == "org.freedesktop.DBus.ObjectManager" && member == "InterfacesRemoved") {
            sdbus::ObjectPath object;
            std::vector<std::string> interfaces;
            message >> object >> interfaces;
            if (std::find(interfaces.begin(), interfaces.end(), lease_interface) != interfaces.end())
                emit(toml::table{{"event", "lease-ended"}, {"lease", std::string(object)}}, "lease ended:    " + std::string(object));
        }
    }

    void emit(toml::table event, const std::string& text)
    {
        if (json_)
            print_json_line(event);
        else
            std::printf("%s\n", text.c_str());
    }

    bool json_;
    std::string daemon_;
};

} // namespace

int run_monitor(int argc, char** argv)
{
    OnlineOptions options;
    if (auto done = parse_online_verb(syntax, argc, argv, options))
        return *done;
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        auto connection = connect_bus(options.bus);
        Monitor monitor(options.json);
        auto owner_match = sdbus_compat::add_match(*connection,
            "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
            "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.wcbroker.Broker1'",
            [&](sdbus::Message& message) { monitor.on_owner_changed(message); });
        auto match = sdbus_compat::add_match(*connection, "type='signal',sender='org.wcbroker.Broker1'",
            [&](sdbus::Message& message) { monitor.on_signal(message); });
        // Fail now, not silently later, when wcbrokerd is not there.
        managed_objects(*connection);
        auto bus = sdbus_compat::make_proxy(*connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        std::string owner;
        bus->callMethod("GetNameOwner").onInterface("org.freedesktop.DBus").withArguments(std::string(broker_service)).storeResultsTo(owner);
        monitor.follow(owner);
        // Say when events will be seen, so a script can start acting.
        if (options.json)
            print_json_line(toml::table{{"event", "watching"}});
        else
            std::printf("Watching wcbrokerd; Ctrl-C to stop.\n");
        connection->enterEventLoop();
        return exit_ok;
    } catch (const sdbus::Error& error) {
        return report("monitor", error);
    }
}

} // namespace wcbroker::cli
