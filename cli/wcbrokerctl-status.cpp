// wcbrokerctl status: what the running wcbrokerd is and can do: its version,
// policy, udev source, and the kernel's capabilities as it sees them (the
// wcalias module among them, and why it is unusable when it is).

#include "bus-client.hpp"
#include "online-options.hpp"
#include "verbs.hpp"

#include <cstdio>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl status [--json] [--bus ADDRESS]

Show the running wcbrokerd: its version, the policy generation and mode in
force, where it hears about devices, and the kernel capabilities it found
(the Broker1 KernelCapabilities property): whether the wcalias module is
loaded and its version, whether wcbrokerd can use it (its API version) or
why not (not loaded, kernel lockdown, permission, API version mismatch),
and the VFIO features of the running kernel.

Exit status: 0 shown, 2 usage error, 3 wcbrokerd unreachable.
)";

constexpr OnlineVerbSyntax syntax{
    .verb = "status", .help_text = help_text, .argument_count = 0, .argument_count_error = "takes no arguments"};

using Capability = sdbus::Struct<std::string, bool, std::string>;

} // namespace

int run_status(int argc, char** argv)
{
    OnlineOptions options;
    if (auto done = parse_online_verb(syntax, argc, argv, options))
        return *done;
    try {
        auto connection = connect_bus(options.bus);
        auto broker = sdbus_compat::make_proxy(*connection, broker_service, broker_path);
        const auto version = broker->getProperty("Version").onInterface(broker_interface).get<std::string>();
        const auto generation = broker->getProperty("PolicyGeneration").onInterface(broker_interface).get<std::uint64_t>();
        const auto mode = broker->getProperty("PolicyMode").onInterface(broker_interface).get<std::string>();
        const auto udev = broker->getProperty("UdevSource").onInterface(broker_interface).get<std::string>();
        const auto capabilities = broker->getProperty("KernelCapabilities").onInterface(broker_interface).get<std::vector<Capability>>();
        if (options.json) {
            toml::array list;
            for (const Capability& capability : capabilities) {
                list.push_back(toml::table{{"name", std::get<0>(capability)}, {"available", std::get<1>(capability)},
                    {"basis", std::get<2>(capability)}});
            }
            print_json(toml::table{{"version", version}, {"policy_generation", static_cast<std::int64_t>(generation)},
                {"policy_mode", mode}, {"udev_source", udev}, {"kernel_capabilities", std::move(list)}});
            return exit_ok;
        }
        std::printf("wcbrokerd %s\npolicy generation %llu (%s), devices from udev's \"%s\" events\n\n"
                    "Kernel capabilities:\n",
            version.c_str(), static_cast<unsigned long long>(generation), mode.c_str(), udev.c_str());
        for (const Capability& capability : capabilities) {
            std::printf("  %-20s %-3s %s\n", std::get<0>(capability).c_str(), std::get<1>(capability) ? "yes" : "no",
                std::get<2>(capability).c_str());
        }
        return exit_ok;
    } catch (const sdbus::Error& error) {
        return report("status", error);
    }
}

} // namespace wcbroker::cli
