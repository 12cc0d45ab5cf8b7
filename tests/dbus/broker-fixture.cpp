#include "broker-fixture.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

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
    char pattern[] = "/tmp/wcbroker-dbus-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    // The bus socket's directory must be reachable by the clients' uids.
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec
            | fs::perms::others_read | fs::perms::others_exec);
    fs::create_directories(dir_ / "policy");
    pci_.add(ivshmem(device_a, 3));
    pci_.add(edu(device_b, 4));
    pci_.set_pat_memtype_list(pat_line(device_a, 2, 0, 0x100000, "write-combining")
        + pat_line(device_b, 0, 0, 0x100000, "uncached-minus"));
    write_policy(default_policy);
    start_bus();
    start_daemon();
}

void BrokerTest::TearDown()
{
    stop_daemon();
    connection_.reset();
    bus_daemon_.signal(SIGTERM);
    bus_daemon_.wait();
    if (HasFailure()) {
        for (const char* name : {"dbus-daemon.log", "wcbrokerd.log"}) {
            std::ifstream log(dir_ / name);
            std::cerr << "---- " << name << " ----\n" << log.rdbuf() << "\n";
        }
    }
    if (!std::getenv("WCBROKER_KEEP_TEST_DIR"))
        fs::remove_all(dir_);
}

std::string BrokerTest::pat_line(const std::string& address, std::uint32_t bar, std::uint64_t offset,
    std::uint64_t length, const char* type) const
{
    char line[128];
    const std::uint64_t start = pci_.bar_start(address, bar) + offset;
    std::snprintf(line, sizeof line, "PAT: [mem 0x%016llx-0x%016llx] %s\n", static_cast<unsigned long long>(start),
        static_cast<unsigned long long>(start + length), type);
    return line;
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
    std::ifstream in(BUS_CONF_TEMPLATE);
    std::stringstream text;
    text << in.rdbuf();
    std::string conf = text.str();
    auto replace = [&](const std::string& key, const std::string& value) {
        for (auto at = conf.find(key); at != std::string::npos; at = conf.find(key, at + value.size()))
            conf.replace(at, key.size(), value);
    };
    replace("@LISTEN@", "unix:path=" + (dir_ / "bus").string());
    replace("@POLICY@", BUS_POLICY_FILE);
    std::ofstream(dir_ / "bus.conf") << conf;

    SpawnOptions options;
    options.env = environment_without({"LD_PRELOAD", "UMOCKDEV_DIR"});
    options.stderr_file = (dir_ / "dbus-daemon.log").string();
    bus_daemon_ = spawn({"/usr/bin/dbus-daemon", "--config-file=" + (dir_ / "bus.conf").string(), "--nofork",
                            "--print-address=1"},
        options);
    auto address = bus_daemon_.read_line();
    ASSERT_TRUE(address) << "dbus-daemon did not start";
    address_ = *address;
    client_env_ = environment_without({"LD_PRELOAD", "UMOCKDEV_DIR"}, {"DBUS_SYSTEM_BUS_ADDRESS=" + address_});
    connection_ = sdbus::createSessionBusConnectionWithAddress(address_);
}

void BrokerTest::start_daemon(const std::vector<std::string>& extra_arguments)
{
    // The daemon inherits this process's umockdev preload and UMOCKDEV_DIR.
    std::vector<std::string> argv{WCBROKERD_PATH, "--bus", address_, "--policy-dir", (dir_ / "policy").string(),
        "--sysfs-root", pci_.root(), "--udev-source", "kernel", "--log-level", "debug"};
    argv.insert(argv.end(), extra_arguments.begin(), extra_arguments.end());
    // For debugging a daemon crash: WCBROKERD_WRAPPER="/usr/bin/gdb -batch -ex run -ex bt --args"
    if (const char* wrapper = std::getenv("WCBROKERD_WRAPPER")) {
        std::istringstream words(wrapper);
        std::vector<std::string> prefix{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
        argv.insert(argv.begin(), prefix.begin(), prefix.end());
    }
    SpawnOptions options;
    // In sanitizer builds the daemon is checked for leaks at exit (the test
    // process itself is not: umockdev and GLib keep allocations for good).
    options.env = environment_without({"JOURNAL_STREAM", "ASAN_OPTIONS"},
        {"ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:exitcode=66"});
    options.stderr_file = (dir_ / "wcbrokerd.log").string();
    daemon_ = spawn(argv, options);
    auto proxy = sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
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
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/" + std::to_string(daemon_.pid()) + "/fd"))
        ++count;
    return count;
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
    SpawnOptions options;
    options.as = who;
    options.env = client_env_;
    Process process = spawn(argv, options);
    Result result;
    result.out = process.rest_of_output();
    result.err = process.stderr_output();
    result.exit_code = process.wait().value_or(-1000);
    return result;
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
    auto broker = sdbus::createProxy(*connection_, "org.wcbroker.Broker1", "/org/wcbroker/Broker1");
    std::vector<sdbus::Struct<sdbus::ObjectPath, std::string, uint32_t, uint64_t, uint64_t, std::string, std::string,
        std::string, uint32_t>>
        leases;
    broker->callMethod("ListLeases").onInterface("org.wcbroker.Broker1").storeResultsTo(leases);
    return leases.size();
}

std::uint64_t BrokerTest::policy_generation()
{
    auto broker = sdbus::createProxy(*connection_, "org.wcbroker.Broker1", "/org/wcbroker/Broker1");
    return broker->getProperty("PolicyGeneration").onInterface("org.wcbroker.Broker1").get<std::uint64_t>();
}

} // namespace wcbroker::test
