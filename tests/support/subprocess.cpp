#include "subprocess.hpp"

#include <tuple>

namespace wcbroker::test {

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options)
{
    SpawnOptions spawn_options;
    spawn_options.as = options.as;
    spawn_options.env = options.env ? *options.env : environment_without({});
    spawn_options.stdin_pipe = !options.input.empty();
    Process process = spawn(argv, spawn_options);
    if (!options.input.empty())
        process.send_input(options.input);
    CommandResult result;
    std::tie(result.out, result.err) = process.all_output();
    result.exit_code = process.wait().value_or(-1000); // killed by ~Process when still running
    return result;
}

} // namespace wcbroker::test
