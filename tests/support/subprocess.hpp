// Running a program from a test to completion and capturing what it printed.
#pragma once

#include "process.hpp"

#include <optional>
#include <string>
#include <vector>

namespace wcbroker::test {

struct CommandResult {
    int exit_code = -1; // -N when killed by signal N; -1000 when it ran on after closing its output
    std::string out;
    std::string err;
};

struct CommandOptions {
    std::optional<Credentials> as{};            // drop to these ids first; else this process's
    std::optional<std::vector<std::string>> env{}; // the whole environment; else this process's
    std::string input{};                         // written to its standard input
};

// Runs argv[0] (a path) with the given arguments, waits for it, and returns
// its exit code and output.
CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

} // namespace wcbroker::test
