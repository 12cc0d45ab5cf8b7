// wcbrokerctl reload: have wcbrokerd re-read its policy.

#include "bus-client.hpp"
#include "online-options.hpp"
#include "verbs.hpp"

#include <cstdio>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl reload [--json] [--bus ADDRESS]

Ask wcbrokerd to re-read its policy files (root only; the same as
'systemctl reload wcbrokerd'). A policy with errors is refused, every error
is printed as FILE:LINE:COLUMN: error: ..., and the policy in force stays.
Leases the new policy no longer allows are revoked.

Exit status: 0 reloaded, 1 refused (errors in the policy, or not root),
2 usage error, 3 wcbrokerd unreachable.
)";

constexpr OnlineVerbSyntax syntax{
    .verb = "reload", .help_text = help_text, .argument_count = 0, .argument_count_error = "takes no arguments"};

} // namespace

int run_reload(int argc, char** argv)
{
    OnlineOptions options;
    if (auto done = parse_online_verb(syntax, argc, argv, options))
        return *done;
    try {
        auto connection = connect_bus(options.bus);
        auto broker = sdbus_compat::make_proxy(*connection, broker_service, broker_path);
        std::uint64_t generation = 0;
        std::vector<std::string> warnings;
        broker->callMethod("Reload").onInterface(broker_interface).storeResultsTo(generation, warnings);
        if (options.json) {
            toml::array list;
            for (const std::string& warning : warnings)
                list.push_back(warning);
            print_json(toml::table{{"generation", static_cast<std::int64_t>(generation)}, {"warnings", std::move(list)}});
            return exit_ok;
        }
        for (const std::string& warning : warnings)
            std::fprintf(stderr, "%s\n", warning.c_str());
        std::printf("Policy generation %llu is in force.\n", static_cast<unsigned long long>(generation));
        return exit_ok;
    } catch (const sdbus::Error& error) {
        if (options.json && error.getName() == "org.wcbroker.Error.PolicyError")
            print_json(toml::table{{"error", std::string(error.getName())}, {"message", error.getMessage()}});
        return report("reload", error);
    }
}

} // namespace wcbroker::cli
