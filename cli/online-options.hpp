// Options every online verb takes (--bus ADDRESS, --json, --help), and the
// one command-line parser of the verbs that take nothing more than those, a
// switch of their own and a fixed number of arguments.
#pragma once

#include <getopt.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wcbroker::cli {

struct OnlineOptions {
    std::optional<std::string> bus;
    bool json = false;
    bool help = false;
    bool own_switch = false;            // the verb's own switch (OnlineVerbSyntax::own_switch) was given
    std::vector<std::string> arguments; // positional
};

inline constexpr int option_bus = 900;
inline constexpr int option_json = 901;

// The shared entries, to be followed by a verb's own and a null entry.
std::vector<struct option> online_option_table(std::vector<struct option> own = {});

// True when `option` was one of the shared ones.
bool take_online_option(int option, OnlineOptions& options);

// What a simple online verb accepts beyond the shared options.
struct OnlineVerbSyntax {
    std::string_view verb;
    const char* help_text;
    int argument_count = 0;                // exactly this many positional arguments
    std::string_view argument_count_error; // the usage error when another number is given
    const char* own_switch = nullptr;      // a long option without argument ("facts"), or none
};

// Parses argv into `options`. Returns the exit code when the verb is done
// here (exit_ok after printing --help, exit_usage after a usage error), or
// nullopt when it should go on.
std::optional<int> parse_online_verb(const OnlineVerbSyntax& syntax, int argc, char** argv, OnlineOptions& options);

} // namespace wcbroker::cli
