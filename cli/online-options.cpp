#include "online-options.hpp"

#include "cli.hpp"

#include <cstdio>

namespace wcbroker::cli {
namespace {

constexpr int option_own_switch = 902;

} // namespace

std::vector<struct option> online_option_table(std::vector<struct option> own)
{
    std::vector<struct option> table{
        {"bus", required_argument, nullptr, option_bus},
        {"json", no_argument, nullptr, option_json},
        {"help", no_argument, nullptr, 'h'},
    };
    table.insert(table.end(), own.begin(), own.end());
    table.push_back({nullptr, 0, nullptr, 0});
    return table;
}

bool take_online_option(int option, OnlineOptions& options)
{
    switch (option) {
    case option_bus:
        options.bus = optarg;
        return true;
    case option_json:
        options.json = true;
        return true;
    case 'h':
        options.help = true;
        return true;
    default:
        return false;
    }
}

std::optional<int> parse_online_verb(const OnlineVerbSyntax& syntax, int argc, char** argv, OnlineOptions& options)
{
    std::vector<struct option> own;
    if (syntax.own_switch != nullptr)
        own.push_back({syntax.own_switch, no_argument, nullptr, option_own_switch});
    const auto table = online_option_table(std::move(own));
    int option;
    while ((option = ::getopt_long(argc, argv, "h", table.data(), nullptr)) != -1) {
        if (option == option_own_switch)
            options.own_switch = true;
        else if (!take_online_option(option, options))
            return usage_error(syntax.verb, "unknown option");
    }
    // --help wins over any mistake in the arguments, as a user who asks for
    // help is about to correct them.
    if (options.help) {
        std::fputs(syntax.help_text, stdout);
        return exit_ok;
    }
    if (argc - optind != syntax.argument_count)
        return usage_error(syntax.verb, syntax.argument_count_error);
    options.arguments.assign(argv + optind, argv + argc);
    return std::nullopt;
}

} // namespace wcbroker::cli
