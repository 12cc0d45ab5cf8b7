// A real wcbrokerd on a private bus: the test process owns a umockdev
// testbed (fake vfio-pci devices it can bind, unbind and remove), starts a
// dbus-daemon configured like Debian's system bus with wcbroker's shipped
// policy file, and starts wcbrokerd under umockdev's preload on that tree.
// Clients run as other uids through fork, setresuid and exec.
#pragma once

#include "fake-pci.hpp"
#include "process.hpp"
#include "sdbus-compat.hpp"
#include "subprocess.hpp"

#include <chrono>
#include <filesystem>
#include <gtest/gtest.h>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>

namespace wcbroker::test {

// Accounts every Debian system has: dbus-daemon refuses connections from
// uids its user database does not know (docs/containers.md).
inline const Credentials nobody{65534, 65534, {65534}};
inline const Credentials stranger{1, 1, {1}};             // daemon
inline const Credentials group_member{2, 2, {2, 2000}};   // bin, also in group 2000

inline constexpr const char* device_a = "0000:00:03.0"; // ivshmem-like: BAR2 1 MiB prefetchable
inline constexpr const char* device_b = "0000:00:04.0"; // edu-like: no prefetchable BAR

inline bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

// A client's first line of output, which says how its Acquire went.
inline std::string first_line(Process& process)
{
    return process.read_line(std::chrono::seconds(15)).value_or("<no output>");
}

// The policy most tests use.
extern const char* const default_policy;

using Result = CommandResult;

class BrokerTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    void write_policy(const std::string& text);
    // WRAPPER runs the daemon (e.g. setpriv to drop capabilities).
    void start_daemon(const std::vector<std::string>& extra_arguments = {}, const std::vector<std::string>& wrapper = {});
    void stop_daemon();
    // SIGKILL, as a crash would end it: no cleanup of any kind.
    void kill_daemon();
    // For a daemon expected to exit by itself: its status (nullopt when it
    // was still running after `limit`, and then it is killed).
    std::optional<int> wait_for_daemon_exit(std::chrono::milliseconds limit);
    // A second wcbrokerd on a dbus-daemon of its own, sharing this one's
    // state directory: its exit code (-1000 when it still ran after
    // `limit`) and, as `err`, its log.
    Result run_rival_daemon(std::chrono::milliseconds limit);
    // The test's own dbus-daemon, to take the bus away.
    Process& bus_daemon() { return bus_daemon_; }
    // Where the daemon keeps its lease records.
    std::filesystem::path state_dir() const { return dir_ / "state"; }
    std::string daemon_log() const;
    std::size_t daemon_fd_count() const;
    // One granted and one denied Acquire, so that resources the daemon sets
    // up once, on first use (sdbus-c++ makes two eventfds), are there before
    // a test counts file descriptors.
    void warm_up();
    pid_t daemon_pid() const { return daemon_.pid(); }

    // test-client (libwcbroker) as `who`.
    Process client(const std::vector<std::string>& arguments, const Credentials& who);
    // Runs a program to completion as `who` (root when not given).
    Result run(const std::vector<std::string>& argv, const std::optional<Credentials>& who = std::nullopt);
    Result ctl(std::vector<std::string> arguments, const std::optional<Credentials>& who = std::nullopt);
    Result busctl(std::vector<std::string> arguments, const std::optional<Credentials>& who = std::nullopt);

    // The bus policy file the test's dbus-daemon includes: the shipped one,
    // unless a fixture needs to see what the daemon does without it.
    virtual std::string bus_policy_file() { return BUS_POLICY_FILE; }

    sdbus::IConnection& bus();
    std::size_t lease_count();
    std::uint64_t policy_generation();

    template <typename Predicate>
    bool eventually(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(10))
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline)
                return false;
            ::usleep(10000);
        }
        return true;
    }


    FakePci pci_;
    std::filesystem::path dir_;
    std::string address_;
    std::vector<std::string> client_env_;

private:
    void start_bus();
    std::vector<std::string> daemon_argv(const std::string& bus_address) const;
    static SpawnOptions daemon_spawn_options(const std::filesystem::path& log_file);

    Process bus_daemon_;
    Process daemon_;
    std::unique_ptr<sdbus::IConnection> connection_;
};

} // namespace wcbroker::test
