// A hostile local user on the real bus, with the shipped bus policy: what
// another uid can send (signals of any kind, floods of refused requests)
// must not change what a client holds, nor push the audit trail out of the
// journal (docs/security.md, "Hostile bus clients").

#include "broker-fixture.hpp"

#include <csignal>
#include <fstream>
#include <sstream>

namespace wcbroker::test {
namespace {

using namespace std::chrono_literals;

struct LeaseSeen {
    std::string path;
    std::string owner;
};

class HostileTest : public BrokerTest {
protected:
    Result raw(std::vector<std::string> arguments, const Credentials& who = stranger)
    {
        arguments.insert(arguments.begin(), RAW_CLIENT_PATH);
        return run(arguments, who);
    }

    // A unicast signal from `who` (broadcast when DESTINATION is "-").
    Result send_signal(const std::string& destination, const std::string& path, const std::string& interface,
        const std::string& member, const std::string& signature, const std::vector<std::string>& arguments = {})
    {
        std::vector<std::string> argv{"signal", destination, path, interface, member, signature};
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        return raw(argv);
    }

    std::vector<LeaseSeen> leases()
    {
        auto broker = wcbroker::sdbus_compat::make_proxy(bus(), "org.wcbroker.Broker1", "/org/wcbroker/Broker1");
        std::vector<sdbus::Struct<sdbus::ObjectPath, std::string, uint32_t, uint64_t, uint64_t, std::string,
            std::string, std::string, uint32_t>>
            listed;
        broker->callMethod("ListLeases").onInterface("org.wcbroker.Broker1").storeResultsTo(listed);
        std::vector<LeaseSeen> out;
        for (const auto& lease : listed)
            out.push_back({std::get<0>(lease), std::get<7>(lease)});
        return out;
    }

    std::string name_owner(const std::string& name)
    {
        auto driver = wcbroker::sdbus_compat::make_proxy(bus(), "org.freedesktop.DBus", "/org/freedesktop/DBus");
        std::string owner;
        driver->callMethod("GetNameOwner").onInterface("org.freedesktop.DBus").withArguments(name).storeResultsTo(owner);
        return owner;
    }

    // The unique name of the connection process PID opened.
    std::string connection_of(pid_t pid)
    {
        auto driver = wcbroker::sdbus_compat::make_proxy(bus(), "org.freedesktop.DBus", "/org/freedesktop/DBus");
        std::vector<std::string> names;
        driver->callMethod("ListNames").onInterface("org.freedesktop.DBus").storeResultsTo(names);
        for (const std::string& name : names) {
            if (name.empty() || name.front() != ':')
                continue;
            std::uint32_t owner_pid = 0;
            try {
                driver->callMethod("GetConnectionUnixProcessID")
                    .onInterface("org.freedesktop.DBus")
                    .withArguments(name)
                    .storeResultsTo(owner_pid);
            } catch (const sdbus::Error&) {
                continue;
            }
            if (static_cast<pid_t>(owner_pid) == pid)
                return name;
        }
        return "";
    }

    // A libwcbroker client of uid 65534 holding one lease.
    Process hold(const std::string& offset = "0")
    {
        Process holder = client({"map", device_a, "2", offset, "4096", "wc", "--hold"}, nobody);
        EXPECT_TRUE(contains(first_line(holder), "lease="));
        EXPECT_EQ(holder.read_line(), "holding");
        return holder;
    }
};

// The shipped bus policy without its rule against signals to the daemon,
// to show that the daemon's own check holds by itself.
class PermissiveBusTest : public HostileTest {
protected:
    std::string bus_policy_file() override
    {
        std::ifstream shipped(BUS_POLICY_FILE);
        std::ofstream permissive(dir_ / "permissive-policy.conf");
        for (std::string line; std::getline(shipped, line);) {
            if (!contains(line, "<deny send_destination=\"org.wcbroker.Broker1\" send_type=\"signal\"/>"))
                permissive << line << "\n";
        }
        return (dir_ / "permissive-policy.conf").string();
    }
};

// Issue 12, item 1: a unicast NameOwnerChanged from uid 1 naming the
// victim's connection ended its lease, and let uid 1 take the range.
TEST_F(HostileTest, TheBusPolicyRejectsSignalsToTheDaemon)
{
    Process holder = hold();
    const std::vector<LeaseSeen> before = leases();
    ASSERT_EQ(before.size(), 1u);
    const std::string victim = before[0].owner;
    for (const std::string& destination : {std::string("org.wcbroker.Broker1"), name_owner("org.wcbroker.Broker1")}) {
        const Result spoof = send_signal(destination, "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "NameOwnerChanged", "sss", {victim, victim, ""});
        EXPECT_TRUE(contains(spoof.out, "bus-error=org.freedesktop.DBus.Error.AccessDenied")) << spoof.out << spoof.err;
    }
    EXPECT_EQ(leases().size(), 1u);
    EXPECT_FALSE(holder.read_line(300ms)) << "the holder was told something";
    EXPECT_FALSE(contains(daemon_log(), "kind=lease-owner-gone")) << daemon_log();
}

TEST_F(PermissiveBusTest, TheDaemonActsOnlyOnNameOwnerChangedFromTheBusItself)
{
    Process holder = hold();
    const std::string victim = leases().at(0).owner;
    for (const std::string& destination : {std::string("org.wcbroker.Broker1"), name_owner("org.wcbroker.Broker1")}) {
        const Result spoof = send_signal(destination, "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "NameOwnerChanged", "sss", {victim, victim, ""});
        EXPECT_TRUE(contains(spoof.out, "done")) << spoof.out << spoof.err;
        EXPECT_FALSE(contains(spoof.out, "bus-error=")) << "this bus lets the signal through: " << spoof.out;
    }
    // Garbage of the same name must not trouble it either.
    send_signal("org.wcbroker.Broker1", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "u", {"7"});
    EXPECT_EQ(leases().size(), 1u);
    EXPECT_FALSE(contains(daemon_log(), "kind=lease-owner-gone")) << daemon_log();
    // uid 1 cannot have the range uncached either: the lease still counts.
    EXPECT_FALSE(holder.read_line(300ms));
    // The bus's own NameOwnerChanged still ends the lease of a client that dies.
    holder.signal(SIGKILL);
    holder.wait();
    EXPECT_TRUE(eventually([&] { return leases().empty(); }));
    EXPECT_TRUE(contains(daemon_log(), "kind=lease-owner-gone"));
}

// Item 2: a forged Lease1.Revoked made libwcbroker unmap and skip Release;
// one with the wrong signature failed wcbroker_session_process().
TEST_F(HostileTest, LibwcbrokerIgnoresRevokedFromAnyoneButTheDaemon)
{
    Process holder = hold();
    const LeaseSeen lease = leases().at(0);
    const std::string interface = "org.wcbroker.Lease1";
    send_signal(lease.owner, lease.path, interface, "Revoked", "s", {"forged by uid 1"});
    send_signal(lease.owner, lease.path, interface, "Revoked", "u", {"7"});
    send_signal(lease.owner, lease.path, interface, "Revoked", "", {});
    send_signal(lease.owner, lease.path, interface, "Revoked", "ss", {"a", "b"});
    send_signal("-", lease.path, interface, "Revoked", "s", {"forged broadcast"});
    EXPECT_FALSE(holder.read_line(500ms)) << "the holder believed a forged signal";
    EXPECT_EQ(leases().size(), 1u);
    // Still holding, it releases its lease itself when it lets go.
    holder.close_stdin();
    EXPECT_EQ(holder.read_line(), "released=0");
    EXPECT_EQ(holder.wait(), 0);
    EXPECT_TRUE(contains(daemon_log(), "kind=lease-released")) << daemon_log();
    EXPECT_FALSE(contains(daemon_log(), "kind=lease-owner-gone")) << daemon_log();
}

// Item 12: Revoked went to every bus client, and root's Release sent none.
TEST_F(HostileTest, RevokedGoesToTheOwnerOnlyOnEveryEndItDidNotAskFor)
{
    Process bystander = spawn({RAW_CLIENT_PATH, "listen", "4"}, [&] {
        SpawnOptions options;
        options.as = stranger;
        options.env = client_env_;
        return options;
    }());
    ASSERT_EQ(bystander.read_line(), "listening");

    Process released = hold();
    const Result root = ctl({"release", leases().at(0).path});
    EXPECT_EQ(root.exit_code, 0) << root.err;
    EXPECT_EQ(released.read_line(), "revoked=released by root");
    EXPECT_EQ(released.read_line(), "released=0");

    Process unbound = hold();
    pci_.rebind(device_a, "");
    EXPECT_EQ(unbound.read_line(), "revoked=device unbound from vfio-pci");

    EXPECT_EQ(bystander.read_line(), "done");
    EXPECT_EQ(bystander.rest_of_output(), "") << "another uid saw the owner's Revoked";
}

TEST_F(HostileTest, ARevocationTellsTheOwnerNoDetailsOfThePolicy)
{
    Process uc = client({"map", device_a, "2", "0x80000", "4096", "uc", "--hold"}, group_member);
    ASSERT_TRUE(contains(first_line(uc), "lease="));
    ASSERT_EQ(uc.read_line(), "holding");
    const std::uint64_t generation = policy_generation();
    std::string without_group = default_policy;
    without_group.replace(without_group.find("groups = [2000]"), 15, "groups = [2001]");
    write_policy(without_group);
    ASSERT_EQ(ctl({"reload"}).exit_code, 0);
    EXPECT_EQ(uc.read_line(), "revoked=policy generation " + std::to_string(generation + 1) + " no longer grants it");
    // The audit record keeps the whole reason.
    EXPECT_TRUE(contains(daemon_log(), "no longer grants it: ")) << daemon_log();
}

// Item 3: five calls with a 120 KB device string wrote 1.8 MB of audit.
TEST_F(HostileTest, AnAuditFloodStaysBoundedAndGrantsAreStillRecorded)
{
    const std::size_t before = daemon_log().size();
    const Result flood = raw({"flood", "60", "100000"});
    EXPECT_TRUE(contains(flood.out, "refused=60")) << flood.out << flood.err;
    Process granted = client({"map", device_a, "2", "0", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(granted), "lease="));
    EXPECT_EQ(granted.wait(), 0);
    const std::string log = daemon_log();
    EXPECT_LT(log.size() - before, 32u * 1024) << "the flood wrote " << log.size() - before << " bytes";
    EXPECT_TRUE(contains(log, "kind=acquire-granted")) << log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
    EXPECT_TRUE(contains(log, "device=\"xxxxxxxx")) << "refusals are still recorded, cut";
    EXPECT_TRUE(contains(log, "...(100000 bytes)"));
    // The ones left out are counted, at the latest when the daemon stops.
    stop_daemon();
    EXPECT_TRUE(contains(daemon_log(), "kind=acquire-refusals-suppressed")) << daemon_log().substr(before, 8000);
    EXPECT_TRUE(contains(daemon_log(), "suppressed=40")) << daemon_log().substr(before, 8000);
}

// Issue 12, "Also": signals of any interface, member and signature, sent by
// another uid to the daemon, to a libwcbroker client and to a monitor,
// change nothing; the real daemon's signals still get through after.
TEST_F(HostileTest, ArbitrarySignalsFromAnotherUidChangeNoState)
{
    SpawnOptions monitor_options;
    monitor_options.env = client_env_;
    Process monitor = spawn({WCBROKERCTL_PATH, "monitor", "--json"}, monitor_options);
    ASSERT_EQ(monitor.read_line(), "{\"event\" : \"watching\"}");
    Process holder = hold();
    ASSERT_TRUE(contains(monitor.read_line().value_or(""), "lease-granted"));
    const LeaseSeen lease = leases().at(0);
    const std::string daemon = name_owner("org.wcbroker.Broker1");
    const std::string watcher = connection_of(monitor.pid());
    ASSERT_FALSE(watcher.empty());
    const std::uint64_t generation = policy_generation();

    struct Forged {
        std::string path, interface, member, signature;
        std::vector<std::string> arguments;
    };
    const std::string device_path = "/org/wcbroker/Broker1/device/0000_00_03_0";
    const std::vector<Forged> forged = {
        {"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "sss", {lease.owner, lease.owner, ""}},
        {"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "sss", {"org.wcbroker.Broker1", daemon, ""}},
        {"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "sss",
            {"org.wcbroker.Broker1", daemon, lease.owner}},
        {"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "s", {lease.owner}},
        {"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "", {}},
        {"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameLost", "s", {"org.wcbroker.Broker1"}},
        {"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameAcquired", "s", {lease.owner}},
        {lease.path, "org.wcbroker.Lease1", "Revoked", "s", {"forged"}},
        {lease.path, "org.wcbroker.Lease1", "Revoked", "t", {"1"}},
        {lease.path, "org.wcbroker.Lease1", "Release", "", {}},
        {"/org/wcbroker/Broker1", "org.wcbroker.Broker1", "DeviceRemoved", "oss", {device_path, device_a, "forged"}},
        {"/org/wcbroker/Broker1", "org.wcbroker.Broker1", "DeviceRemoved", "b", {"true"}},
        {"/org/wcbroker/Broker1", "org.wcbroker.Broker1", "DeviceAdded", "os", {device_path, device_a}},
        {"/org/wcbroker/Broker1", "org.wcbroker.Broker1", "PolicyReloaded", "t", {"99"}},
        {"/org/wcbroker/Broker1", "org.wcbroker.Broker1", "PolicyReloaded", "s", {"99"}},
        {"/org/wcbroker/Broker1", "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", "o", {lease.path}},
        {"/org/wcbroker/Broker1", "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", "iu", {"-1", "2"}},
        {"/", "com.example.Hostile", "Anything", "siutbo", {"x", "-3", "4", "5", "true", "/x"}},
    };
    for (const std::string& destination : {daemon, std::string("org.wcbroker.Broker1"), lease.owner, watcher, std::string("-")}) {
        for (const Forged& f : forged) {
            const Result sent = send_signal(destination, f.path, f.interface, f.member, f.signature, f.arguments);
            EXPECT_TRUE(contains(sent.out, "sent")) << f.member << " to " << destination << ": " << sent.out << sent.err;
        }
    }

    EXPECT_EQ(leases().size(), 1u);
    EXPECT_EQ(policy_generation(), generation);
    EXPECT_TRUE(contains(ctl({"list-devices"}).out, device_a));
    EXPECT_FALSE(holder.read_line(500ms)) << "the client believed a forged signal";
    EXPECT_FALSE(monitor.read_line(300ms)) << "the monitor showed a forged event";
    const std::string log = daemon_log();
    EXPECT_FALSE(contains(log, "kind=lease-owner-gone")) << log;
    EXPECT_FALSE(contains(log, "kind=lease-revoked")) << log;

    // The daemon's own signals still reach both.
    pci_.rebind(device_a, "");
    EXPECT_EQ(holder.read_line(), "revoked=device unbound from vfio-pci");
    EXPECT_TRUE(contains(monitor.read_line().value_or(""), "lease-ended"));
    monitor.signal(SIGTERM);
}

} // namespace
} // namespace wcbroker::test
