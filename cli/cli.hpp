// Shared pieces of wcbrokerctl: exit codes, option helpers, output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>

namespace wcbroker::cli {

// Documented in wcbrokerctl(1); scripts rely on them.
enum ExitCode : int {
    exit_ok = 0,      // success; for explain/check-policy: allowed/valid
    exit_no = 1,      // a clean "no": request denied, policy invalid, lease revoked
    exit_usage = 2,   // bad command line
    exit_failure = 3, // could not do the job: file unreadable, daemon unreachable, ...
};

struct Verb {
    std::string_view name;
    std::string_view summary;
    int (*run)(int argc, char** argv); // argv[0] is the verb
};

// Prints "wcbrokerctl VERB: MESSAGE" and a pointer to --help; returns exit_usage.
int usage_error(std::string_view verb, std::string_view message);
// Prints "wcbrokerctl VERB: MESSAGE"; returns exit_failure.
int failure(std::string_view verb, std::string_view message);

// Integers in decimal or 0x-hex; sizes also with KiB/MiB/GiB units.
std::optional<std::uint64_t> parse_number(std::string_view text);
std::optional<std::uint64_t> parse_size(std::string_view text);

// "BAR [OFFSET LENGTH]" as acquire and explain take them on the command
// line; OFFSET and LENGTH come together or not at all (nullptr).
struct BarRange {
    std::uint32_t bar = 0;
    std::optional<std::uint64_t> offset;
    std::optional<std::uint64_t> length;
};
// On a mistake, prints VERB's usage error and returns nullopt.
std::optional<BarRange> parse_bar_range(std::string_view verb, const char* bar, const char* offset, const char* length);

// "wc", "uc", "write-combine", "uncached"
std::optional<std::string> parse_access_option(std::string_view text);

void print_json(const toml::table& table);
// One JSON object on one line, for streams (monitor, acquire --hold).
void print_json_line(const toml::table& table);

} // namespace wcbroker::cli
