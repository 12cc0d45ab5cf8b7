// Options every online verb takes: --bus ADDRESS, --json, --help.
#pragma once

#include <getopt.h>
#include <optional>
#include <string>
#include <vector>

namespace wcbroker::cli {

struct OnlineOptions {
    std::optional<std::string> bus;
    bool json = false;
    bool help = false;
    std::vector<std::string> arguments; // positional
};

inline constexpr int option_bus = 900;
inline constexpr int option_json = 901;

// The shared entries, to be followed by a verb's own and a null entry.
inline std::vector<struct option> online_option_table(std::vector<struct option> own = {})
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

// True when `option` was one of the shared ones.
inline bool take_online_option(int option, OnlineOptions& options)
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

} // namespace wcbroker::cli
