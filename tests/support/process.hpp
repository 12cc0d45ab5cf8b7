// Child processes for integration tests: a private dbus-daemon, wcbrokerd,
// and clients running under other uids and gids.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace wcbroker::test {

struct Credentials {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups; // supplementary
};

struct SpawnOptions {
    std::optional<Credentials> as;   // drop to these ids before exec
    std::vector<std::string> env;    // the whole environment, NAME=value
    std::optional<std::string> stderr_file; // else captured through a pipe
    bool stdin_pipe = false;         // else /dev/null
};

class Process {
public:
    Process() = default;
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process(); // kills and reaps a child still running

    pid_t pid() const { return pid_; }
    bool running();

    // The next line of standard output, without the newline; nullopt on EOF
    // or when `limit` passes first.
    std::optional<std::string> read_line(std::chrono::milliseconds limit = std::chrono::seconds(10));
    // Everything else it printed, until it exits (stdout, and stderr when piped).
    std::string rest_of_output();
    std::string stderr_output();
    // What is left of standard output and standard error (when piped), read
    // together, so that a child filling one pipe never blocks on it while
    // the other is read; returns when both are closed.
    std::pair<std::string, std::string> all_output();

    // Writes INPUT to its standard input (spawned with stdin_pipe), then closes it.
    void send_input(const std::string& input);
    // Writes INPUT and keeps standard input open, for a dialogue.
    void write_input(const std::string& input);
    void close_stdin();
    void signal(int number);
    // Exit code, -signal when killed, nullopt when still running after `limit`.
    std::optional<int> wait(std::chrono::milliseconds limit = std::chrono::seconds(20));

    friend Process spawn(const std::vector<std::string>& argv, const SpawnOptions& options);

private:
    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    int stderr_ = -1;
    std::string buffer_;
    std::optional<int> status_;
};

Process spawn(const std::vector<std::string>& argv, const SpawnOptions& options);

// The current environment minus the named variables, plus `extra`.
std::vector<std::string> environment_without(const std::vector<std::string>& names,
    const std::vector<std::string>& extra = {});

} // namespace wcbroker::test
