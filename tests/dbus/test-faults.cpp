// wcbrokerd under faults: clients that die at every stage of Acquire,
// devices and policies that change under running requests, the bus going
// away, the daemon itself killed and restarted, and policy files broken in
// every way an admin or a disk can break them. After each, the daemon must
// hold no fd and no lease it should not, and must say exactly what happened.

#include "broker-fixture.hpp"

#include <csignal>
#include <fstream>
#include <sys/stat.h>
#include <thread>

namespace wcbroker::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class FaultTest : public BrokerTest {
protected:
    Result raw_client(const std::vector<std::string>& arguments, const Credentials& who)
    {
        std::vector<std::string> argv{RAW_CLIENT_PATH};
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        return run(argv, who);
    }

    // Lease and fd counts are back where they were, once the daemon has
    // processed what the bus tells it (a departed client's NameOwnerChanged).
    void expect_back_to(std::size_t fds, const std::string& stage)
    {
        EXPECT_TRUE(eventually([&] { return lease_count() == 0 && daemon_fd_count() == fds; }))
            << stage << ": " << lease_count() << " lease(s), " << daemon_fd_count() << " fd(s), baseline " << fds;
    }

    std::size_t records() const
    {
        std::size_t count = 0;
        if (fs::exists(state_dir() / "leases")) {
            for (const auto& entry : fs::directory_iterator(state_dir() / "leases"))
                count += entry.path().extension() == ".lease" ? 1 : 0;
        }
        return count;
    }
};

TEST_F(FaultTest, ClientKilledAtEveryStageOfAcquireLeavesNothingBehind)
{
    warm_up();
    const std::size_t baseline = daemon_fd_count();

    // Gone before the reply: the lease is granted to a dead connection and
    // must go when the bus reports it gone.
    for (int i = 0; i < 5; ++i) {
        const Result abandoned = raw_client({"abandon", device_a, "2", "0", "4096", "wc"}, nobody);
        EXPECT_EQ(abandoned.out, "sent\n") << abandoned.err;
    }
    expect_back_to(baseline, "client gone before the reply");

    // Gone after the reply, with the fd received but never mapped or released.
    for (int i = 0; i < 5; ++i) {
        const Result taken = raw_client({"take-fd", device_a, "2", "0", "4096", "wc"}, nobody);
        EXPECT_TRUE(contains(taken.out, "lease=/org/wcbroker/Broker1/lease/")) << taken.out << taken.err;
        EXPECT_TRUE(eventually([&] { return lease_count() == 0; })); // max_leases is 3
    }
    expect_back_to(baseline, "client gone after the reply");

    // Killed while it holds a mapping.
    for (int i = 0; i < 3; ++i) {
        Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
        ASSERT_TRUE(contains(first_line(holder), "lease=")) << daemon_log();
        ASSERT_EQ(holder.read_line(), "holding");
        holder.signal(SIGKILL);
        holder.wait();
    }
    expect_back_to(baseline, "client killed holding a mapping");
    EXPECT_EQ(records(), 0u) << "every lease record is gone with its lease";
    const std::string log = daemon_log();
    EXPECT_TRUE(contains(log, "kind=lease-owner-gone")) << log;
}

// No thread means nothing for ThreadSanitizer to find, and no lock to get
// wrong: one sd-event loop drives udev, the bus and the timers.
TEST_F(FaultTest, TheDaemonRunsOneThread)
{
    warm_up();
    std::size_t threads = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/" + std::to_string(daemon_pid()) + "/task"))
        ++threads;
    EXPECT_EQ(threads, 1u);
}

TEST_F(FaultTest, DeviceUnboundAndReboundWhileClientsAcquire)
{
    warm_up();
    const std::size_t baseline = daemon_fd_count();
    // Three at a time: the rule's max_leases.
    std::vector<Process> churners;
    for (int i = 0; i < 3; ++i)
        churners.push_back(client({"churn", device_a, "2", "0", "4096", "wc", "200"}, nobody));
    for (int round = 0; round < 10; ++round) {
        std::this_thread::sleep_for(20ms);
        pci_.rebind(device_a, "");
        std::this_thread::sleep_for(20ms);
        pci_.rebind(device_a, "vfio-pci");
    }
    for (Process& churner : churners) {
        const std::string out = churner.rest_of_output();
        // Each either finished or stopped at a refusal the device's absence
        // explains: no device to map, or a lease revoked before its release.
        EXPECT_TRUE(contains(out, "churned=200") || contains(out, "error=ENODEV") || contains(out, "error=ENOENT"))
            << out;
        churner.wait();
    }
    expect_back_to(baseline, "after the unbind storm");
    EXPECT_EQ(records(), 0u);
    Process after = client({"map", device_a, "2", "0", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(after), "lease=")) << "the device is served again";
}

TEST_F(FaultTest, DeviceRemovedWhileClientsAcquire)
{
    warm_up();
    const std::size_t baseline = daemon_fd_count();
    Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    ASSERT_TRUE(contains(first_line(holder), "lease="));
    std::vector<Process> churners;
    for (int i = 0; i < 2; ++i)
        churners.push_back(client({"churn", device_a, "2", "0x1000", "4096", "wc", "1000"}, nobody));
    std::this_thread::sleep_for(50ms);
    pci_.remove(device_a);
    ASSERT_EQ(holder.read_line(), "holding");
    const auto revoked = holder.read_line();
    ASSERT_TRUE(revoked);
    EXPECT_TRUE(contains(*revoked, "revoked=")) << *revoked;
    for (Process& churner : churners) {
        const std::string out = churner.rest_of_output();
        EXPECT_TRUE(contains(out, "error=ENODEV") || contains(out, "error=ENOENT") || contains(out, "churned=1000"))
            << out;
        churner.wait();
    }
    holder.close_stdin();
    holder.wait();
    expect_back_to(baseline, "after the removal");
}

TEST_F(FaultTest, ReloadsWhileClientsAcquireNeverGrantOutsideEitherPolicy)
{
    warm_up();
    const std::size_t baseline = daemon_fd_count();
    // The second policy grants nobody nothing: every lease it finds is revoked.
    std::string nothing_for_nobody = default_policy;
    nothing_for_nobody.replace(nothing_for_nobody.find("users = [65534]\nmax_leases"), 15, "users = [65533]");
    std::vector<Process> churners;
    for (int i = 0; i < 3; ++i)
        churners.push_back(client({"churn", device_a, "2", "0", "4096", "wc", "300"}, nobody));
    for (int round = 0; round < 10; ++round) {
        write_policy(round % 2 == 0 ? nothing_for_nobody : default_policy);
        EXPECT_EQ(ctl({"reload"}).exit_code, 0);
        std::this_thread::sleep_for(10ms);
    }
    write_policy(default_policy);
    EXPECT_EQ(ctl({"reload"}).exit_code, 0);
    for (Process& churner : churners) {
        const std::string out = churner.rest_of_output();
        EXPECT_TRUE(contains(out, "churned=300") || contains(out, "error=EACCES") || contains(out, "error=ENOENT"))
            << out;
        churner.wait();
    }
    expect_back_to(baseline, "after the reloads");
    // Every grant was made under a policy that allowed it.
    const std::string log = daemon_log();
    EXPECT_FALSE(contains(log, "kind=acquire-audit-only"));
}

TEST_F(FaultTest, TheBusGoingAwayEndsTheDaemonInsteadOfHangingIt)
{
    bus_daemon().signal(SIGKILL);
    bus_daemon().wait();
    const auto status = wait_for_daemon_exit(10s);
    ASSERT_TRUE(status) << "wcbrokerd still runs 10 s after its bus died:\n" << daemon_log();
    EXPECT_EQ(*status, 1) << "a non-zero status, so that Restart=on-failure brings it back";
    EXPECT_TRUE(contains(daemon_log(), "bus")) << daemon_log();
}

TEST_F(FaultTest, KilledDaemonTakesOverTheLeasesOfClientsThatStayed)
{
    Process stays = client({"map", device_a, "2", "0", "4096", "wc", "--hold", "--label", "stays"}, nobody);
    const std::string granted = first_line(stays);
    ASSERT_TRUE(contains(granted, "lease=/org/wcbroker/Broker1/lease/")) << granted;
    ASSERT_EQ(stays.read_line(), "holding");
    Process leaves = client({"map", device_a, "2", "0x80000", "4096", "uc", "--hold"}, group_member);
    ASSERT_TRUE(contains(first_line(leaves), "lease="));
    ASSERT_EQ(leaves.read_line(), "holding");
    ASSERT_EQ(records(), 2u);

    kill_daemon();
    leaves.signal(SIGKILL); // gone while no daemon watched
    leaves.wait();
    start_daemon();

    // The survivor's lease is back under the same object path.
    EXPECT_EQ(lease_count(), 1u);
    const Result leases = ctl({"list-leases", "--json"});
    const std::string path = granted.substr(granted.find("lease=") + 6, granted.find(' ') - granted.find("lease=") - 6);
    EXPECT_TRUE(contains(leases.out, "\"object\" : \"" + path + "\"")) << leases.out;
    EXPECT_TRUE(contains(leases.out, "\"Label\" : \"stays\"")) << leases.out;
    const std::string log = daemon_log();
    EXPECT_TRUE(contains(log, "kind=lease-recovered")) << log;
    EXPECT_TRUE(contains(log, "left the bus while wcbrokerd was not running")) << log;
    EXPECT_EQ(records(), 1u);
    // Its object is back too: its properties answer.
    const Result memtype = busctl({"get-property", "org.wcbroker.Broker1", path, "org.wcbroker.Lease1", "Memtype"});
    EXPECT_EQ(memtype.exit_code, 0) << memtype.err << daemon_log();

    // It still works like any lease: released by its owner, it is gone.
    stays.close_stdin();
    EXPECT_EQ(stays.read_line(), "released=0");
    stays.wait();
    EXPECT_TRUE(eventually([&] { return lease_count() == 0; }));
    EXPECT_EQ(records(), 0u);
    // New leases get fresh ids, above the recovered one.
    Process next = client({"map", device_a, "2", "0", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(next), "lease=/org/wcbroker/Broker1/lease/3")) << daemon_log();
}

TEST_F(FaultTest, LeaseOnADeviceThatChangedWhileTheDaemonWasDownIsRevoked)
{
    Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    ASSERT_TRUE(contains(first_line(holder), "lease="));
    ASSERT_EQ(holder.read_line(), "holding");
    kill_daemon();
    // As if the device had been removed and added again: the same path, a
    // new file, which is not the one the client's fd is.
    const fs::path file = fs::path(pci_.device_dir(device_a)) / "resource2_wc";
    const auto size = fs::file_size(file);
    fs::remove(file);
    std::ofstream(file).close();
    fs::resize_file(file, size);
    start_daemon();
    // The client is still there and learns of it as it would have from a
    // running daemon.
    EXPECT_EQ(holder.read_line(), "revoked=the device's resource file changed while wcbrokerd was not running")
        << daemon_log();
    EXPECT_EQ(lease_count(), 0u);
    EXPECT_TRUE(contains(daemon_log(), "kind=lease-revoked")) << daemon_log();
    EXPECT_EQ(records(), 0u);
    holder.close_stdin();
    holder.wait();
}

TEST_F(FaultTest, ASecondDaemonDoesNotTouchTheLeaseRecordsOfARunningOne)
{
    Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    ASSERT_TRUE(contains(first_line(holder), "lease="));
    ASSERT_EQ(holder.read_line(), "holding");
    ASSERT_EQ(records(), 1u);
    // Another bus, the same state directory: the bus id differs, so without
    // the lock this daemon would take the record for a stale one and drop it.
    const Result rival = run_rival_daemon(10s);
    EXPECT_EQ(rival.exit_code, 1) << rival.err;
    EXPECT_TRUE(contains(rival.err, "another wcbrokerd keeps its leases in " + state_dir().string())) << rival.err;
    EXPECT_EQ(records(), 1u);
    EXPECT_EQ(lease_count(), 1u);
    holder.close_stdin();
    holder.wait();
}

TEST_F(FaultTest, UnusableLeaseRecordsAreDroppedWithTheReason)
{
    stop_daemon();
    fs::create_directories(state_dir() / "leases");
    std::ofstream(state_dir() / "leases" / "7.lease") << "version=1\nid=7\nowner=not-a-unique-name\n";
    std::ofstream(state_dir() / "leases" / "8.lease") << "\x01\x02 garbage";
    std::ofstream(state_dir() / "leases" / "9.lease.tmp") << "half a rec";
    start_daemon();
    const std::string log = daemon_log();
    EXPECT_TRUE(contains(log, "7.lease is not a usable lease record (no bus_id=)")) << log;
    EXPECT_TRUE(contains(log, "8.lease is not a usable lease record (line 1 is not key=value)")) << log;
    EXPECT_EQ(records(), 0u);
    EXPECT_FALSE(fs::exists(state_dir() / "leases" / "9.lease.tmp"));
    EXPECT_EQ(lease_count(), 0u);
}

// Each way a policy file breaks: the reload is refused with the reason, and
// the policy in force keeps granting.
struct BrokenPolicy {
    const char* name;
    void (*damage)(const fs::path& policy);
    const char* reason;
};

const BrokenPolicy broken_policies[] = {
    {"garbage", [](const fs::path& p) { std::ofstream(p) << "\x7f\x45\x4c\x46\x02\x01 not toml at all {{{"; },
        "policy.toml:1:"},
    {"truncated",
        [](const fs::path& p) {
            std::ofstream(p) << std::string(default_policy).substr(0, std::string(default_policy).find("access"));
        },
        "missing access"},
    {"deleted", [](const fs::path& p) { fs::remove(p); }, "the main policy file was removed"},
    {"unreadable", [](const fs::path& p) { fs::permissions(p, fs::perms::none); }, "Permission denied"},
    {"symlink-loop",
        [](const fs::path& p) {
            fs::remove(p);
            fs::create_symlink(p.filename(), p);
        },
        "is a symbolic link"},
    {"symlink-to-a-valid-copy",
        [](const fs::path& p) {
            fs::path copy = p;
            copy += ".real";
            fs::copy_file(p, copy);
            fs::remove(p);
            fs::create_symlink(copy.filename(), p);
        },
        "is a symbolic link"},
    {"directory",
        [](const fs::path& p) {
            fs::remove(p);
            fs::create_directory(p);
        },
        "not a regular file"},
};

class BrokenPolicyTest : public FaultTest, public ::testing::WithParamInterface<BrokenPolicy> {
protected:
    void SetUp() override
    {
        FaultTest::SetUp();
        if (IsSkipped())
            return;
        // As under the unit: root without CAP_DAC_OVERRIDE, so that a mode
        // 0000 file is unreadable to it as to any other user.
        stop_daemon();
        start_daemon({}, {"/usr/bin/setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"});
    }
};

TEST_P(BrokenPolicyTest, ReloadIsRefusedWithTheReasonAndTheOldPolicyKeepsGranting)
{
    const BrokenPolicy& broken = GetParam();
    const std::uint64_t generation = policy_generation();
    broken.damage(dir_ / "policy" / "policy.toml");
    const Result reload = ctl({"reload"});
    EXPECT_EQ(reload.exit_code, 1) << reload.out;
    EXPECT_TRUE(contains(reload.err, broken.reason)) << broken.name << ":\n" << reload.err;
    EXPECT_EQ(policy_generation(), generation);
    Process still = client({"map", device_a, "2", "0", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(still), "lease=")) << broken.name << ": the old policy still grants";
    EXPECT_TRUE(contains(daemon_log(), "kind=policy-rejected"));
}

INSTANTIATE_TEST_SUITE_P(EveryWay, BrokenPolicyTest, ::testing::ValuesIn(broken_policies),
    [](const ::testing::TestParamInfo<BrokenPolicy>& test) {
        std::string name = test.param.name;
        std::replace(name.begin(), name.end(), '-', '_');
        return name;
    });

} // namespace
} // namespace wcbroker::test
