// wcbrokerctl release: end a lease (its owner's, or any as root).

#include "bus-client.hpp"
#include "online-options.hpp"
#include "verbs.hpp"

#include <cstdio>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl release [--bus ADDRESS] LEASE

Release a lease, given as its number or object path (see 'wcbrokerctl
list-leases'). A lease belongs to the bus connection that acquired it, so
from this command only root can release one: a client releases its own by
unmapping (libwcbroker) or by disconnecting. The client's mapping is not
affected until it unmaps (docs/kernel-mechanisms.md).

Exit status: 0 released, 1 refused or no such lease, 2 usage error,
3 wcbrokerd unreachable.
)";

constexpr OnlineVerbSyntax syntax{.verb = "release",
    .help_text = help_text,
    .argument_count = 1,
    .argument_count_error = "give one lease: a number or /org/wcbroker/Broker1/lease/N"};

} // namespace

int run_release(int argc, char** argv)
{
    OnlineOptions options;
    if (auto done = parse_online_verb(syntax, argc, argv, options))
        return *done;
    std::string path = options.arguments[0];
    if (auto id = parse_number(path))
        path = std::string(broker_path) + "/lease/" + std::to_string(*id);
    else if (path.rfind(std::string(broker_path) + "/lease/", 0) != 0)
        return usage_error("release", "'" + path + "' is not a lease number or lease object path");
    try {
        auto connection = connect_bus(options.bus);
        auto lease = sdbus_compat::make_proxy(*connection, broker_service, path);
        lease->callMethod("Release").onInterface(lease_interface);
        if (options.json)
            print_json(toml::table{{"released", path}});
        else
            std::printf("Released %s\n", path.c_str());
        return exit_ok;
    } catch (const sdbus::Error& error) {
        return report("release", error);
    }
}

} // namespace wcbroker::cli
