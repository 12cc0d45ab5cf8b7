// Running a program from a test and capturing what it printed.
#pragma once

#include <string>
#include <vector>

namespace wcbroker::test {

struct CommandResult {
    int exit_code = -1; // -1 when killed by a signal
    std::string out;
    std::string err;
};

// Runs argv[0] (a path) with the given arguments, waits for it, and returns
// its exit code and output. `input` is written to its standard input.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "");

} // namespace wcbroker::test
