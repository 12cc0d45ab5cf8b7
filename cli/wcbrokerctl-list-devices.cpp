// wcbrokerctl list-devices: the devices wcbrokerd serves.

#include "bus-client.hpp"
#include "online-options.hpp"
#include "verbs.hpp"

#include <cstdio>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl list-devices [--json] [--bus ADDRESS]

List the PCI devices wcbrokerd serves (bound to vfio-pci), with their
write-combining capable BARs.

  --json          print JSON
  --bus ADDRESS   talk to wcbrokerd on this bus instead of the system bus

Exit status: 0 listed, 1 wcbrokerd refused, 2 usage error, 3 wcbrokerd unreachable.
)";

constexpr OnlineVerbSyntax syntax{
    .verb = "list-devices", .help_text = help_text, .argument_count = 0, .argument_count_error = "takes no arguments"};

} // namespace

int run_list_devices(int argc, char** argv)
{
    OnlineOptions options;
    if (auto done = parse_online_verb(syntax, argc, argv, options))
        return *done;
    try {
        auto connection = connect_bus(options.bus);
        const auto devices = objects_with(managed_objects(*connection), device_interface);
        if (options.json) {
            toml::array list;
            for (const auto& [path, properties] : devices) {
                toml::table entry{{"object", path}};
                insert_device_properties(entry, properties);
                list.push_back(std::move(entry));
            }
            print_json(toml::table{{"devices", std::move(list)}});
            return exit_ok;
        }
        if (devices.empty()) {
            std::printf("No devices: none is bound to vfio-pci (or wcbrokerd has not seen it yet).\n");
            return exit_ok;
        }
        std::printf("%-14s %-11s %-8s %-6s %s\n", "ADDRESS", "ID", "CLASS", "GROUP", "WC-CAPABLE BARS");
        for (const auto& [path, properties] : devices) {
            std::string wc;
            for (const BarEntry& bar : bars_of(properties)) {
                if (std::get<5>(bar))
                    wc += (wc.empty() ? "" : ",") + std::to_string(std::get<0>(bar));
            }
            char id[16];
            std::snprintf(id, sizeof id, "%04x:%04x", properties.at("VendorId").get<std::uint16_t>(),
                properties.at("DeviceId").get<std::uint16_t>());
            char device_class[16];
            std::snprintf(device_class, sizeof device_class, "%06x", properties.at("Class").get<std::uint32_t>());
            const std::int32_t group = properties.at("IommuGroup").get<std::int32_t>();
            std::printf("%-14s %-11s %-8s %-6s %s\n", properties.at("Address").get<std::string>().c_str(), id,
                device_class, group < 0 ? "-" : std::to_string(group).c_str(), wc.empty() ? "-" : wc.c_str());
        }
        return exit_ok;
    } catch (const sdbus::Error& error) {
        return report("list-devices", error);
    }
}

} // namespace wcbroker::cli
