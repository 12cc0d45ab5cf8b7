#include "broker-fixture.hpp"

#include "broker-setup.hpp"
#include "private-bus.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unistd.h>

namespace wcbroker::test {

namespace fs = std::filesystem;

const char* const default_policy = R"(version = 1
[selector.a]
address = "0000:00:03.0"

[[rule]]
name = "wc-nobody"
devices = ["a"]
bar = 2
ranges = [ { offset = 0, length = "64KiB" } ]
access = "write-combine"
users = [65534]
max_leases = 3

[[rule]]
name = "uc-group"
devices = ["a"]
bar = 2
ranges = [ { offset = "512KiB", length = "64KiB" } ]
access = "uncached"
groups = [2000]

[[rule]]
name = "b-uc"
device = { address = "0000:00:04.0" }
bar = 0
ranges = "all"
access = "uncached"
users = [65534]
)";

void BrokerTest::SetUp()
{
    // What these tests cannot run without; a skip names it.
    if (::geteuid() != 0)
        GTEST_SKIP() << "SKIP: needs root (clients run as other uids through setresuid)";
    for (const char* program : {"/usr/bin/dbus-daemon", "/usr/bin/busctl", "/usr/bin/setpriv"}) {
        if (::access(program, X_OK) != 0)
            GTEST_SKIP() << "SKIP: needs " << program << " (apt-get install dbus systemd util-linux)";
    }
    dir_ = make_broker_dir("wcbroker-dbus");
    ASSERT_FALSE(dir_.empty()) << "cannot make /tmp/wcbroker-dbus-XXXXXX";
    pci_.add(ivshmem(device_a, 3));
    pci_.add(edu(device_b, 4));
    pci_.set_pat_memtype_list(pci_.pat_line(device_a, 2, 0, 0x100000, "write-combining")
        + pci_.pat_line(device_b, 0, 0, 0x100000, "uncached-minus"));
    write_policy(default_policy);
    start_bus();
    start_daemon();
}

void BrokerTest::TearDown()
{
    stop_daemon();
    connection_.reset();
    if (bus_daemon_.pid() > 0) {
        bus_daemon_.signal(SIGTERM);
        bus_daemon_.wait();
    }
    if (HasFailure()) {
        for (const char* name : {"dbus-daemon.log", "wcbrokerd.log"}) {
            std::ifstream log(dir_ / name);
            std::cerr << "---- " << name << " ----\n" << log.rdbuf() << "\n";
        }
    }
    remove_broker_dir(dir_);
}

void BrokerTest::write_policy(const std::string& text)
{
    const fs::path file = dir_ / "policy" / "policy.toml";
    const fs::path temporary = dir_ / "policy" / ".policy.toml.new";
    std::ofstream(temporary) << text;
    fs::rename(temporary, file); // the daemon never sees half a file
}

void BrokerTest::start_bus()
{
    PrivateBus bus = start_private_bus(dir_, BUS_CONF_TEMPLATE, bus_policy_file());
    ASSERT_FALSE(bus.address.empty()) << "dbus-daemon did not start";
    bus_daemon_ = std::move(bus.daemon);
    address_ = bus.address;
    client_env_ = client_environment(address_);
    connection_ = sdbus::createSessionBusConnectionWithAddress(address_);
}

std::vector<std::string> BrokerTest::daemon_argv(const std::string& bus_address) const
{
    return broker_argv(WCBROKERD_PATH, bus_address, dir_, pci_.root(), "debug");
}

SpawnOptions BrokerTest::daemon_spawn_options(const fs::path& log_file)
{
    SpawnOptions options;
    // In sanitizer builds the daemon is checked for leaks at exit (the test
    // process itself is not: umockdev and GLib keep allocations for good).
    // Not under a service manager: no fd store, no notifications.
    // The daemon inherits this process's umockdev preload and UMOCKDEV_DIR.
    options.env = environment_without({"JOURNAL_STREAM", "ASAN_OPTIONS", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID",
                                          "LISTEN_FDNAMES", "WATCHDOG_USEC"},
        {"ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:exitcode=66"});
    options.stderr_file = log_file.string();
    return options;
}

void BrokerTest::start_daemon(const std::vector<std::string>& extra_arguments, const std::vector<std::string>& wrapper)
{
    std::vector<std::string> argv = daemon_argv(address_);
    argv.insert(argv.end(), extra_arguments.begin(), extra_arguments.end());
    argv.insert(argv.begin(), wrapper.begin(), wrapper.end());
    // For debugging a daemon crash: WCBROKERD_WRAPPER="/usr/bin/gdb -batch -ex run -ex bt --args"
    if (const char* debugger = std::getenv("WCBROKERD_WRAPPER")) {
        std::istringstream words(debugger);
        std::vector<std::string> prefix{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
        argv.insert(argv.begin(), prefix.begin(), prefix.end());
    }
    daemon_ = spawn(argv, daemon_spawn_options(dir_ / "wcbrokerd.log"));
    auto proxy = wcbroker::sdbus_compat::make_proxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    const bool owned = eventually([&] {
        bool has_owner = false;
        proxy->callMethod("NameHasOwner").onInterface("org.freedesktop.DBus").withArguments(std::string("org.wcbroker.Broker1")).storeResultsTo(has_owner);
        return has_owner || !daemon_.running();
    });
    ASSERT_TRUE(owned && daemon_.running()) << "wcbrokerd did not come up:\n" << daemon_log();
}

void BrokerTest::stop_daemon()
{
    if (daemon_.pid() <= 0)
        return;
    daemon_.signal(SIGTERM);
    auto status = daemon_.wait();
    EXPECT_EQ(status, 0) << "wcbrokerd did not stop cleanly on SIGTERM";
    // The bus drops the name only once it has seen the connection close: a
    // daemon started right after would otherwise find the old owner still
    // listed, and be taken for up before it is.
    auto proxy = wcbroker::sdbus_compat::make_proxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    EXPECT_TRUE(eventually([&] {
        bool has_owner = true;
        proxy->callMethod("NameHasOwner").onInterface("org.freedesktop.DBus").withArguments(std::string("org.wcbroker.Broker1")).storeResultsTo(has_owner);
        return !has_owner;
    })) << "the bus still lists org.wcbroker.Broker1 after wcbrokerd exited";
}

void BrokerTest::kill_daemon()
{
    daemon_.signal(SIGKILL);
    EXPECT_EQ(daemon_.wait(), -SIGKILL);
    daemon_ = Process();
}

std::optional<int> BrokerTest::wait_for_daemon_exit(std::chrono::milliseconds limit)
{
    auto status = daemon_.wait(limit);
    daemon_ = Process(); // killed here if it did not exit
    return status;
}

Result BrokerTest::run_rival_daemon(std::chrono::milliseconds limit)
{
    const fs::path rival_dir = dir_ / "rival";
    fs::create_directories(rival_dir);
    fs::permissions(rival_dir, fs::status(dir_).permissions());
    PrivateBus bus = start_private_bus(rival_dir, BUS_CONF_TEMPLATE, BUS_POLICY_FILE);
    Result result;
    if (bus.address.empty()) {
        ADD_FAILURE() << "the rival's dbus-daemon did not start";
        return result;
    }
    Process rival = spawn(daemon_argv(bus.address), daemon_spawn_options(rival_dir / "wcbrokerd.log"));
    result.exit_code = rival.wait(limit).value_or(-1000); // killed by ~Process when still running
    std::ifstream log(rival_dir / "wcbrokerd.log");
    std::stringstream text;
    text << log.rdbuf();
    result.err = text.str();
    return result;
}

std::string BrokerTest::daemon_log() const
{
    std::ifstream in(dir_ / "wcbrokerd.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::size_t BrokerTest::daemon_fd_count() const
{
    return open_fd_count(daemon_.pid());
}

void BrokerTest::warm_up()
{
    for (const Credentials& who : {nobody, stranger}) {
        Process c = client({"map", device_a, "2", "0", "4096", "wc"}, who);
        c.rest_of_output();
        c.wait();
    }
    eventually([&] { return lease_count() == 0; });
}

Process BrokerTest::client(const std::vector<std::string>& arguments, const Credentials& who)
{
    std::vector<std::string> argv{TEST_CLIENT_PATH};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    SpawnOptions options;
    options.as = who;
    options.env = client_env_;
    options.stdin_pipe = true;
    return spawn(argv, options);
}

Result BrokerTest::run(const std::vector<std::string>& argv, const std::optional<Credentials>& who)
{
    return run_command(argv, {.as = who, .env = client_env_});
}

Result BrokerTest::ctl(std::vector<std::string> arguments, const std::optional<Credentials>& who)
{
    std::vector<std::string> argv{std::string(WCBROKERCTL_PATH)};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return run(argv, who);
}

Result BrokerTest::busctl(std::vector<std::string> arguments, const std::optional<Credentials>& who)
{
    std::vector<std::string> argv{"/usr/bin/busctl", "--system"};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return run(argv, who);
}

sdbus::IConnection& BrokerTest::bus()
{
    return *connection_;
}

std::size_t BrokerTest::lease_count()
{
    auto broker = wcbroker::sdbus_compat::make_proxy(*connection_, "org.wcbroker.Broker1", "/org/wcbroker/Broker1");
    std::vector<sdbus::Struct<sdbus::ObjectPath, std::string, uint32_t, uint64_t, uint64_t, std::string, std::string,
        std::string, uint32_t>>
        leases;
    broker->callMethod("ListLeases").onInterface("org.wcbroker.Broker1").storeResultsTo(leases);
    return leases.size();
}

std::uint64_t BrokerTest::policy_generation()
{
    auto broker = wcbroker::sdbus_compat::make_proxy(*connection_, "org.wcbroker.Broker1", "/org/wcbroker/Broker1");
    return broker->getProperty("PolicyGeneration").onInterface("org.wcbroker.Broker1").get<std::uint64_t>();
}

} // namespace wcbroker::test
