// wcbrokerctl list-leases: the leases wcbrokerd has granted and not ended.

#include "bus-client.hpp"
#include "matching.hpp"
#include "online-options.hpp"
#include "verbs.hpp"

#include <cstdio>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl list-leases [--json] [--bus ADDRESS]

List live leases: who holds which range of which BAR, with which memory
type (as the kernel set it up) and under which policy rule.

  --json          print JSON
  --bus ADDRESS   talk to wcbrokerd on this bus instead of the system bus

Exit status: 0 listed, 1 wcbrokerd refused, 2 usage error, 3 wcbrokerd unreachable.
)";

constexpr OnlineVerbSyntax syntax{
    .verb = "list-leases", .help_text = help_text, .argument_count = 0, .argument_count_error = "takes no arguments"};

} // namespace

int run_list_leases(int argc, char** argv)
{
    OnlineOptions options;
    if (auto done = parse_online_verb(syntax, argc, argv, options))
        return *done;
    try {
        auto connection = connect_bus(options.bus);
        const auto leases = objects_with(managed_objects(*connection), lease_interface);
        if (options.json) {
            toml::array list;
            for (const auto& [path, properties] : leases) {
                toml::table entry{{"object", path}};
                for (const auto& [name, value] : properties)
                    insert_variant(entry, name, value);
                list.push_back(std::move(entry));
            }
            print_json(toml::table{{"leases", std::move(list)}});
            return exit_ok;
        }
        if (leases.empty()) {
            std::printf("No leases.\n");
            return exit_ok;
        }
        std::printf("%-5s %-14s %-3s %-22s %-13s %-15s %-6s %-8s %s\n", "ID", "DEVICE", "BAR", "RANGE", "ACCESS",
            "MEMTYPE", "UID", "OWNER", "RULE");
        for (const auto& [path, p] : leases) {
            const std::string range = describe_range(p.at("Offset").get<std::uint64_t>(), p.at("Length").get<std::uint64_t>());
            std::string rule = p.at("Rule").get<std::string>();
            if (p.at("AuditOnly").get<bool>())
                rule = "(audit mode only)";
            std::printf("%-5llu %-14s %-3u %-22s %-13s %-15s %-6u %-8s %s\n",
                static_cast<unsigned long long>(p.at("Id").get<std::uint64_t>()), p.at("Address").get<std::string>().c_str(),
                p.at("Bar").get<std::uint32_t>(), range.c_str(), p.at("Access").get<std::string>().c_str(),
                p.at("Memtype").get<std::string>().c_str(), p.at("Uid").get<std::uint32_t>(),
                p.at("Owner").get<std::string>().c_str(), rule.c_str());
        }
        return exit_ok;
    } catch (const sdbus::Error& error) {
        return report("list-leases", error);
    }
}

} // namespace wcbroker::cli
