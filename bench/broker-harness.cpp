#include "broker-harness.hpp"

#include "broker-setup.hpp"
#include "private-bus.hpp"
#include "sdbus-compat.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sdbus-c++/sdbus-c++.h>
#include <sched.h>
#include <sstream>
#include <sys/mount.h>
#include <unistd.h>

namespace wcbroker::bench {

namespace fs = std::filesystem;

namespace {

// wcbrokerd writes a record per lease into /run/wcbroker, a tmpfs. On a
// disk file system, creating and deleting an inode per lease costs more than
// the rest of an Acquire (ext4's inode allocator, measured with perf), which
// no installed daemon pays. So the daemon gets a tmpfs here too: mounted in
// a mount namespace of the benchmark's own, else /dev/shm (a tmpfs, but one
// umockdev's preload inspects on every open, being under /dev).
fs::path tmpfs_state_dir(const fs::path& dir, bool& mounted)
{
    const fs::path state = dir / "state";
    fs::create_directories(state);
    mounted = ::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0
        && ::mount("tmpfs", state.c_str(), "tmpfs", 0, "mode=0700") == 0;
    if (mounted)
        return state;
    char pattern[] = "/dev/shm/wcbroker-bench-state-XXXXXX";
    if (const char* shm = ::mkdtemp(pattern))
        return shm;
    return state;
}

} // namespace

BrokerHarness::BrokerHarness(const std::string& extra_bus_policy)
{
    dir_ = test::make_broker_dir("wcbroker-bench");
    if (dir_.empty()) {
        std::perror("mkdtemp /tmp/wcbroker-bench-XXXXXX");
        std::exit(1);
    }
    state_dir_ = tmpfs_state_dir(dir_, state_mounted_);

    test::PrivateBus bus = test::start_private_bus(dir_, BUS_CONF_TEMPLATE, BUS_POLICY_FILE, extra_bus_policy);
    bus_ = std::move(bus.daemon);
    address_ = bus.address;
    env_ = test::client_environment(address_);
}

BrokerHarness::~BrokerHarness()
{
    daemon_.signal(SIGTERM);
    daemon_.wait();
    bus_.signal(SIGTERM);
    bus_.wait();
    if (state_mounted_)
        ::umount2(state_dir_.c_str(), MNT_DETACH);
    if (state_dir_.string().rfind(dir_.string(), 0) != 0)
        fs::remove_all(state_dir_); // the /dev/shm fallback
    test::remove_broker_dir(dir_);
}

void BrokerHarness::write_policy(const std::string& text)
{
    std::ofstream(dir_ / "policy" / "policy.toml") << text;
}

void BrokerHarness::start_daemon(const std::vector<std::string>& extra_arguments)
{
    std::vector<std::string> argv = test::broker_argv(WCBROKERD_PATH, address_, dir_, pci_.root(), "warning");
    // The records go to the tmpfs, wherever tmpfs_state_dir() found one.
    auto state = std::find(argv.begin(), argv.end(), "--state-dir");
    state[1] = state_dir_.string();
    argv.insert(argv.end(), extra_arguments.begin(), extra_arguments.end());
    test::SpawnOptions options;
    options.env = test::environment_without({"JOURNAL_STREAM", "NOTIFY_SOCKET"}, {"DBUS_SYSTEM_BUS_ADDRESS=" + address_});
    options.stderr_file = (dir_ / "wcbrokerd.log").string();
    daemon_ = test::spawn(argv, options);
    auto connection = sdbus::createSessionBusConnectionWithAddress(address_);
    for (int attempt = 0; attempt < 1000; ++attempt) {
        try {
            auto broker = wcbroker::sdbus_compat::make_proxy(*connection, "org.wcbroker.Broker1", "/org/wcbroker/Broker1");
            broker->getProperty("Version").onInterface("org.wcbroker.Broker1");
            return;
        } catch (const sdbus::Error&) {
            ::usleep(10000);
        }
    }
    std::fprintf(stderr, "wcbrokerd did not come up; see %s\n", (dir_ / "wcbrokerd.log").c_str());
    std::exit(1);
}

std::size_t BrokerHarness::daemon_fd_count() const
{
    return test::open_fd_count(daemon_.pid());
}

std::size_t BrokerHarness::daemon_rss_kib() const
{
    std::ifstream status("/proc/" + std::to_string(daemon_.pid()) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stoul(line.substr(6));
    }
    return 0;
}

} // namespace wcbroker::bench
