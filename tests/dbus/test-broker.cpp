// wcbrokerd end to end on a real bus with real credentials: a private
// dbus-daemon with the shipped bus policy, wcbrokerd on a umockdev tree,
// clients as other uids through libwcbroker, wcbrokerctl and busctl.

#include "broker-fixture.hpp"

#include <csignal>
#include <fstream>
#include <sstream>

namespace wcbroker::test {
namespace {

using namespace std::chrono_literals;

std::string hex_of(const std::string& text)
{
    std::string out;
    char byte[3];
    for (unsigned char c : text) {
        std::snprintf(byte, sizeof byte, "%02x", c);
        out += byte;
    }
    return out;
}

std::string file_head(const std::string& path, std::size_t bytes)
{
    std::ifstream in(path, std::ios::binary);
    std::string data(bytes, '\0');
    in.read(data.data(), static_cast<std::streamsize>(bytes));
    return data;
}

TEST_F(BrokerTest, AllowedAcquireGivesAnFdWhoseMappingIsTheBar)
{
    pci_.fill_bar(device_a, 2, "hello from the BAR");
    Process c = client({"map", device_a, "2", "0", "4096", "wc", "--read", "18", "--write", "written by nobody"}, nobody);
    const std::string acquired = first_line(c);
    EXPECT_TRUE(contains(acquired, "memtype=write-combining")) << acquired;
    EXPECT_TRUE(contains(acquired, "mechanism=sysfs-wc enforcement=advisory length=4096 fd=open fd_offset=0")) << acquired;
    EXPECT_EQ(c.read_line(), "read=" + hex_of("hello from the BAR"));
    EXPECT_EQ(c.read_line(), "wrote=17");
    EXPECT_EQ(c.read_line(), "released=0");
    EXPECT_EQ(c.wait(), 0);
    EXPECT_EQ(file_head(pci_.device_dir(device_a) + "/resource2_wc", 17), "written by nobody");
    EXPECT_EQ(lease_count(), 0u);
    EXPECT_TRUE(contains(daemon_log(), "kind=acquire-granted bus_name=")) << daemon_log();
}

TEST_F(BrokerTest, DeniedUidGetsAccessDeniedNoFdAndAnAuditRecordNamingTheRule)
{
    warm_up();
    const std::size_t fds_before = daemon_fd_count();
    Process c = client({"map", device_a, "2", "0", "4096", "wc"}, stranger);
    const std::string line = first_line(c);
    EXPECT_TRUE(contains(line, "error=EACCES")) << line;
    // The verdict and the nearest rule's name; whom the rule trusts, and
    // where the policy lives, are for root and the audit log.
    EXPECT_TRUE(contains(line, "nearest is rule 'wc-nobody' (what it lacks is shown to root")) << line;
    EXPECT_FALSE(contains(line, "65534")) << line;
    EXPECT_FALSE(contains(line, "policy.toml")) << line;
    EXPECT_EQ(c.wait(), 1);
    EXPECT_EQ(lease_count(), 0u);
    EXPECT_EQ(daemon_fd_count(), fds_before);
    const std::string log = daemon_log();
    EXPECT_TRUE(contains(log, "kind=acquire-denied")) << log;
    EXPECT_TRUE(contains(log, "uid=1 ")) << log;
    EXPECT_TRUE(contains(log, "nearest_rule=\"'wc-nobody' (")) << log;
    EXPECT_TRUE(contains(log, "uid 1 is not among users 65534")) << log;
}

TEST_F(BrokerTest, RangeOutsideTheGrantIsDeniedAndOutsideTheBarIsInvalid)
{
    Process beyond_grant = client({"map", device_a, "2", "0x10000", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(beyond_grant), "error=EACCES"));
    Process beyond_bar = client({"map", device_a, "2", "0x100000", "4096", "wc"}, nobody);
    const std::string line = first_line(beyond_bar);
    EXPECT_TRUE(contains(line, "error=ERANGE")) << line;
    EXPECT_TRUE(contains(line, "does not fit in BAR 2 of 0000:00:03.0, which is 1MiB")) << line;
}

TEST_F(BrokerTest, WrongAccessIsDenied)
{
    Process c = client({"map", device_a, "2", "0", "4096", "uc"}, nobody);
    const std::string line = first_line(c);
    EXPECT_TRUE(contains(line, "error=EACCES")) << line;
    // The nearest rule is the uncached one, which covers other pages and another group.
    EXPECT_TRUE(contains(line, "nearest is rule 'uc-group'")) << line;
    EXPECT_FALSE(contains(line, "2000")) << line; // the group it trusts
    EXPECT_TRUE(contains(daemon_log(), "is not inside one of the granted ranges [0x80000, +64KiB)"));
}

TEST_F(BrokerTest, GroupMembershipComesFromTheBus)
{
    Process member = client({"map", device_a, "2", "0x80000", "4096", "uc", "--read", "1"}, group_member);
    const std::string line = first_line(member);
    EXPECT_TRUE(contains(line, "memtype=write-combining mechanism=sysfs-uc")) << line;
    EXPECT_FALSE(contains(line, "error=")) << line;
    Process outsider = client({"map", device_a, "2", "0x80000", "4096", "uc"}, stranger);
    EXPECT_TRUE(contains(first_line(outsider), "error=EACCES"));
}

TEST_F(BrokerTest, LeaseLimitPerUidIsEnforced)
{
    std::vector<Process> holders;
    for (int i = 0; i < 3; ++i) {
        holders.push_back(client({"map", device_a, "2", std::to_string(i * 4096), "4096", "wc", "--hold"}, nobody));
        ASSERT_TRUE(contains(first_line(holders.back()), "lease=")) << i;
    }
    Process fourth = client({"map", device_a, "2", "0x3000", "4096", "wc"}, nobody);
    const std::string line = first_line(fourth);
    EXPECT_TRUE(contains(line, "error=EDQUOT")) << line;
    EXPECT_TRUE(contains(line, "already holds 3 lease(s) under rule 'wc-nobody'")) << line;
    EXPECT_EQ(lease_count(), 3u);
    holders[0].close_stdin();
    EXPECT_EQ(holders[0].wait(), 0);
    Process again = client({"map", device_a, "2", "0x3000", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(again), "lease=")) << "room again after a release";
}

TEST_F(BrokerTest, ClientDeathReleasesItsLeases)
{
    warm_up();
    const std::size_t fds_before = daemon_fd_count();
    Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    ASSERT_TRUE(contains(first_line(holder), "lease="));
    ASSERT_EQ(holder.read_line(), "holding");
    EXPECT_EQ(lease_count(), 1u);
    holder.signal(SIGKILL);
    holder.wait();
    EXPECT_TRUE(eventually([&] { return lease_count() == 0; }));
    EXPECT_TRUE(eventually([&] { return daemon_fd_count() == fds_before; })) << daemon_fd_count() << " vs " << fds_before;
    EXPECT_TRUE(contains(daemon_log(), "kind=lease-owner-gone"));
}

TEST_F(BrokerTest, UnbindRevokesAndTheClientIsTold)
{
    Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    ASSERT_TRUE(contains(first_line(holder), "lease="));
    ASSERT_EQ(holder.read_line(), "holding");
    pci_.rebind(device_a, "");
    EXPECT_EQ(holder.read_line(), "revoked=device unbound from vfio-pci");
    EXPECT_EQ(holder.read_line(), "released=0");
    EXPECT_EQ(holder.wait(), 0);
    EXPECT_EQ(lease_count(), 0u);
    EXPECT_TRUE(contains(daemon_log(), "kind=lease-revoked"));
    // And the device is gone from the bus.
    const Result devices = ctl({"list-devices", "--json"});
    EXPECT_FALSE(contains(devices.out, device_a)) << devices.out;
}

TEST_F(BrokerTest, ReloadRevokesExactlyTheLeasesNoLongerAllowed)
{
    Process wc = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    Process uc = client({"map", device_a, "2", "0x80000", "4096", "uc", "--hold"}, group_member);
    ASSERT_TRUE(contains(first_line(wc), "lease="));
    ASSERT_TRUE(contains(first_line(uc), "lease="));
    ASSERT_EQ(lease_count(), 2u);
    const std::uint64_t generation = policy_generation();

    std::string without_uc = default_policy;
    without_uc.replace(without_uc.find("groups = [2000]"), 15, "groups = [2001]");
    write_policy(without_uc);
    const Result reload = ctl({"reload"});
    EXPECT_EQ(reload.exit_code, 0) << reload.err;
    EXPECT_EQ(policy_generation(), generation + 1);

    ASSERT_EQ(uc.read_line(), "holding");
    const auto revoked = uc.read_line();
    ASSERT_TRUE(revoked);
    EXPECT_TRUE(contains(*revoked, "revoked=policy generation " + std::to_string(generation + 1) + " no longer grants it"))
        << *revoked;
    EXPECT_EQ(lease_count(), 1u);
    ASSERT_EQ(wc.read_line(), "holding");
    EXPECT_FALSE(wc.read_line(300ms)) << "the write-combine lease is still allowed and must stay";
    // The survivor was re-decided under the new generation, and its bus
    // object says so.
    const Result leases = ctl({"list-leases", "--json"});
    EXPECT_EQ(leases.exit_code, 0) << leases.err;
    EXPECT_TRUE(contains(leases.out, "\"PolicyGeneration\" : " + std::to_string(generation + 1))) << leases.out;
    EXPECT_TRUE(contains(leases.out, "\"Device\" : \"/org/wcbroker/Broker1/device/0000_00_03_0\"")) << leases.out;
}

TEST_F(BrokerTest, BrokenPolicyOnReloadIsRefusedWithLocationsAndTheOldOneKeepsServing)
{
    Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    ASSERT_TRUE(contains(first_line(holder), "lease="));
    const std::uint64_t generation = policy_generation();
    write_policy("version = 1\n[[rule]]\nname = \"broken\"\nbar = 9\n");
    const Result reload = ctl({"reload"});
    EXPECT_EQ(reload.exit_code, 1);
    EXPECT_TRUE(contains(reload.err, "policy.toml:4:7: error: rule[broken].bar: BAR index 9 is out of range")) << reload.err;
    EXPECT_TRUE(contains(reload.err, "org.wcbroker.Error.PolicyError")) << reload.err;
    EXPECT_EQ(policy_generation(), generation);
    EXPECT_EQ(lease_count(), 1u);
    Process another = client({"map", device_a, "2", "0x1000", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(another), "lease=")) << "the old policy still grants";
    EXPECT_TRUE(contains(daemon_log(), "kind=policy-rejected"));
}

TEST_F(BrokerTest, SighupReloadsLikeSystemctlReload)
{
    const std::uint64_t generation = policy_generation();
    ::kill(daemon_pid(), SIGHUP);
    EXPECT_TRUE(eventually([&] { return policy_generation() == generation + 1; }));
}

TEST_F(BrokerTest, OnlyRootMayReload)
{
    const Result reload = ctl({"reload"}, nobody);
    EXPECT_EQ(reload.exit_code, 1);
    EXPECT_TRUE(contains(reload.err, "only root can reload the policy (uid 65534 asked)")) << reload.err;
    EXPECT_TRUE(contains(reload.err, "org.wcbroker.Error.AccessDenied")) << reload.err;
}

TEST_F(BrokerTest, NonRootCannotOwnTheBusName)
{
    const Result own = busctl({"call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                  "RequestName", "su", "org.wcbroker.Broker1", "0"},
        nobody);
    EXPECT_NE(own.exit_code, 0);
    // The bus refuses it (busctl prints the AccessDenied error's text).
    EXPECT_TRUE(contains(own.err, "Access denied")) << own.err << own.out;
    EXPECT_EQ(policy_generation(), 1u) << "wcbrokerd still answers under the name";
}

TEST_F(BrokerTest, OnlyTheOwnerOrRootMayRelease)
{
    Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    const std::string line = first_line(holder);
    ASSERT_TRUE(contains(line, "lease="));
    const std::string path = line.substr(6, line.find(' ') - 6);
    const Result other = ctl({"release", path}, stranger);
    EXPECT_EQ(other.exit_code, 1);
    EXPECT_TRUE(contains(other.err, "only its owner or root can release it")) << other.err;
    EXPECT_EQ(lease_count(), 1u);
    const Result root = ctl({"release", path});
    EXPECT_EQ(root.exit_code, 0) << root.err;
    EXPECT_EQ(lease_count(), 0u);
    EXPECT_TRUE(contains(daemon_log(), "released by root"));
}

TEST_F(BrokerTest, MalformedArgumentsGetClearErrors)
{
    struct Case {
        std::vector<std::string> acquire; // device bar offset length access, then options
        std::string error;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"3b:00.0", "2", "0", "4096", "write-combine", "0"}, "org.freedesktop.DBus.Error.InvalidArgs",
            "device: \"3b:00.0\" is not a PCI address"},
        {{"../../../etc/passwd", "2", "0", "4096", "write-combine", "0"}, "org.freedesktop.DBus.Error.InvalidArgs",
            "is not a PCI address"},
        {{device_a, "9", "0", "4096", "write-combine", "0"}, "org.freedesktop.DBus.Error.InvalidArgs",
            "bar: 9 is not a BAR index; use 0 to 5"},
        {{device_a, "2", "0", "4096", "wc", "0"}, "org.freedesktop.DBus.Error.InvalidArgs",
            "access: \"wc\" is not valid; use \"write-combine\" or \"uncached\""},
        {{device_a, "2", "0", "18446744073709551615", "write-combine", "0"}, "org.wcbroker.Error.InvalidRange",
            "must both be multiples of the page size"},
        {{device_a, "2", "18446744073709547520", "8192", "write-combine", "0"}, "org.wcbroker.Error.InvalidRange",
            "overflows 64 bits"},
        {{device_a, "2", "0", "0", "write-combine", "0"}, "org.wcbroker.Error.InvalidRange", "length is 0"},
        {{device_a, "2", "0", "4096", "write-combine", "1", "speed", "s", "fast"}, "org.freedesktop.DBus.Error.InvalidArgs",
            "options: unknown option \"speed\" of type s; valid options are"},
        {{device_a, "2", "0", "4096", "write-combine", "1", "label", "u", "7"}, "org.freedesktop.DBus.Error.InvalidArgs",
            "options: option label must be of type s (string), got u"},
        {{device_a, "2", "0", "4096", "write-combine", "1", "require_verified_wc", "s", "yes"},
            "org.freedesktop.DBus.Error.InvalidArgs",
            "options: option require_verified_wc must be of type b (boolean), got s"},
        {{"0000:00:09.0", "2", "0", "4096", "write-combine", "0"}, "org.wcbroker.Error.NoSuchDevice",
            "there is no PCI device 0000:00:09.0"},
        // The fake tree has no /dev/wcalias: a client's demand for a
        // kernel-enforced range is refused, saying why.
        {{device_a, "2", "0", "4096", "write-combine", "1", "require_kernel_enforced_range", "b", "true"},
            "org.wcbroker.Error.Unsupported", "the wcalias module is not loaded"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> args{"call", "org.wcbroker.Broker1", "/org/wcbroker/Broker1", "org.wcbroker.Broker1",
            "Acquire", "suttsa{sv}"};
        args.insert(args.end(), c.acquire.begin(), c.acquire.end());
        const Result r = busctl(args, nobody);
        EXPECT_NE(r.exit_code, 0) << c.message;
        EXPECT_TRUE(contains(r.err, c.message)) << "wanted: " << c.message << "\ngot: " << r.err;
    }
    EXPECT_EQ(lease_count(), 0u);
    // Refusals before the policy is asked are audited too.
    EXPECT_TRUE(contains(daemon_log(), "kind=acquire-failed")) << daemon_log();
    EXPECT_TRUE(contains(daemon_log(), "decision=invalid"));
}

TEST_F(BrokerTest, StatusReportsTheWcaliasModuleAndWhyItIsUnusable)
{
    const Result status = ctl({"status"}, nobody);
    EXPECT_EQ(status.exit_code, 0) << status.err;
    EXPECT_TRUE(contains(status.out, "wcalias-module")) << status.out;
    EXPECT_TRUE(contains(status.out, "not loaded (no /sys/module/wcalias)")) << status.out;
    EXPECT_TRUE(contains(status.out, "the wcalias module is not loaded")) << status.out;
    const Result json = ctl({"status", "--json"}, nobody);
    EXPECT_EQ(json.exit_code, 0) << json.err;
    EXPECT_TRUE(contains(json.out, "\"name\" : \"wcalias\"")) << json.out;
    // Without the module, leases are sysfs ones, as before.
    Process holder = client({"map", device_a, "2", "0", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(holder), "lease="));
    EXPECT_TRUE(contains(daemon_log(), "leases are served through sysfs (ranges advisory)")) << daemon_log();
}

TEST_F(BrokerTest, DeviceNotOnVfioSaysWhichDriverHasIt)
{
    FakeDevice nic = ivshmem("0000:00:05.0", 5);
    nic.driver = "ivshmem";
    pci_.add(nic);
    Process c = client({"map", "0000:00:05.0", "2", "0", "4096", "wc"}, nobody);
    const std::string line = first_line(c);
    EXPECT_TRUE(contains(line, "error=ENODEV")) << line;
    EXPECT_TRUE(contains(line, "0000:00:05.0 is bound to ivshmem; wcbrokerd serves devices bound to vfio-pci")) << line;
}

TEST_F(BrokerTest, NonPrefetchableBarIsRefusedForWriteCombiningAndFineUncached)
{
    write_policy(std::string(default_policy)
        + "[[rule]]\nname = \"b-wc\"\ndevice = { vendor = 0x1234 }\nbar = 0\nranges = \"all\"\n"
          "access = \"write-combine\"\nusers = [65534]\n");
    ASSERT_EQ(ctl({"reload"}).exit_code, 0);
    Process wc = client({"map", device_b, "0", "0", "4096", "wc"}, nobody);
    const std::string line = first_line(wc);
    EXPECT_TRUE(contains(line, "error=EOPNOTSUPP")) << line;
    EXPECT_TRUE(contains(line, "is not prefetchable")) << line;
    Process uc = client({"map", device_b, "0", "0", "4096", "uc"}, nobody);
    EXPECT_TRUE(contains(first_line(uc), "memtype=uncached-minus"));
}

// The kernel revokes sysfs mappings of a BAR the moment vfio-pci claims it
// (on 7.x at any VFIO open of the device): wcbrokerd notices within a
// second, ends the lease, tells its owner and audits it.
TEST_F(BrokerTest, AClaimOnALeasedBarRevokesTheLease)
{
    Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    ASSERT_TRUE(contains(first_line(holder), "lease="));
    ASSERT_EQ(holder.read_line(), "holding");
    pci_.claim_bar_for_vfio(device_a, 2, 0x100000);
    const std::string revoked = holder.read_line().value_or("");
    EXPECT_TRUE(contains(revoked, "revoked=BAR 2 was claimed by vfio-pci")) << revoked;
    EXPECT_EQ(holder.read_line(), "released=0");
    EXPECT_EQ(holder.wait(), 0);
    EXPECT_EQ(lease_count(), 0u);
    EXPECT_TRUE(contains(daemon_log(), "kind=lease-revoked"));
}

TEST_F(BrokerTest, BarClaimedByVfioIsBusyUntilReleased)
{
    pci_.claim_bar_for_vfio(device_a, 2, 0x100000);
    Process claimed = client({"map", device_a, "2", "0", "4096", "wc"}, nobody);
    const std::string line = first_line(claimed);
    EXPECT_TRUE(contains(line, "error=EBUSY")) << line;
    EXPECT_TRUE(contains(line, "is claimed by vfio-pci")) << line;
    const Result show = ctl({"show-device", device_a});
    EXPECT_TRUE(contains(show.out, "CLAIMED by vfio-pci")) << show.out;
    pci_.set_iomem("");
    Process free_again = client({"map", device_a, "2", "0", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(free_again), "lease="));
}

TEST_F(BrokerTest, UnverifiedWriteCombiningIsRefusedWhenRequired)
{
    pci_.set_pat_memtype_list(pci_.pat_line(device_a, 2, 0, 0x100000, "uncached-minus"));
    Process c = client({"map", device_a, "2", "0", "4096", "wc", "--verified"}, nobody);
    const std::string line = first_line(c);
    EXPECT_TRUE(contains(line, "error=EOPNOTSUPP")) << line;
    EXPECT_TRUE(contains(line, "the request requires verified write-combining, and the kernel set this range up as "
                               "uncached-minus"))
        << line;
    // Without the requirement the lease is granted, and says what it really is.
    Process honest = client({"map", device_a, "2", "0", "4096", "wc"}, nobody);
    EXPECT_TRUE(contains(first_line(honest), "memtype=uncached-minus"));
}

TEST_F(BrokerTest, OverlappingLeasesOfTheOtherMemoryTypeAreBusy)
{
    // Two selectors matching the same device: the loader cannot see the overlap.
    write_policy(std::string(default_policy)
        + "[[rule]]\nname = \"uc-overlap\"\ndevice = { vendor = 0x1af4 }\nbar = 2\n"
          "ranges = [ { offset = 0, length = \"4KiB\" } ]\naccess = \"uncached\"\nusers = [65534]\n");
    ASSERT_EQ(ctl({"reload"}).exit_code, 0);
    Process wc = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    ASSERT_TRUE(contains(first_line(wc), "lease="));
    Process uc = client({"map", device_a, "2", "0", "4096", "uc"}, nobody);
    const std::string line = first_line(uc);
    EXPECT_TRUE(contains(line, "error=EBUSY")) << line;
    EXPECT_TRUE(contains(line, "one page cannot be mapped with two memory types")) << line;
}

TEST_F(BrokerTest, AuditModeGrantsButRecordsTheDenial)
{
    write_policy(std::string(default_policy).insert(12, "mode = \"audit\"\n"));
    ASSERT_EQ(ctl({"reload"}).exit_code, 0);
    Process c = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, stranger);
    ASSERT_TRUE(contains(first_line(c), "lease="));
    const Result leases = ctl({"list-leases"});
    EXPECT_TRUE(contains(leases.out, "(audit mode only)")) << leases.out;
    EXPECT_TRUE(contains(daemon_log(), "kind=acquire-audit-only"));
}

TEST_F(BrokerTest, ExplainAnswersForTheCaller)
{
    const Result allowed = ctl({"explain", "--access", "wc", device_a, "2", "0", "4096"}, nobody);
    EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
    EXPECT_TRUE(contains(allowed.out, "Decision:  ALLOW")) << allowed.out;
    EXPECT_TRUE(contains(allowed.out, "Mechanism: sysfs-wc")) << allowed.out;
    const Result denied = ctl({"explain", "--access", "wc", "--json", device_a, "2", "0", "4096"}, stranger);
    EXPECT_EQ(denied.exit_code, 1);
    EXPECT_TRUE(contains(denied.out, "\"allowed\" : false")) << denied.out;
    EXPECT_TRUE(contains(denied.out, "wc-nobody")) << denied.out;
    EXPECT_FALSE(contains(denied.out, "65534")) << denied.out;
    EXPECT_FALSE(contains(denied.out, "policy.toml")) << denied.out;
}

TEST_F(BrokerTest, ListGrantsGivesTheCallersOwnRangesOfOneBar)
{
    Process nobodys = client({"grants", device_a, "2"}, nobody);
    EXPECT_EQ(nobodys.read_line(), "grants=1");
    EXPECT_EQ(nobodys.read_line(), "grant offset=0x0 length=0x10000 access=wc");
    EXPECT_EQ(nobodys.wait(), 0);
    // Whole-BAR rules give the BAR's size; another caller gets its own.
    Process whole_bar = client({"grants", device_b, "0"}, nobody);
    EXPECT_EQ(whole_bar.read_line(), "grants=1");
    EXPECT_EQ(whole_bar.read_line(), "grant offset=0x0 length=0x100000 access=uc");
    EXPECT_EQ(whole_bar.wait(), 0);
    Process members = client({"grants", device_a, "2"}, group_member);
    EXPECT_EQ(members.read_line(), "grants=1");
    EXPECT_EQ(members.read_line(), "grant offset=0x80000 length=0x10000 access=uc");
    EXPECT_EQ(members.wait(), 0);
    Process strangers = client({"grants", device_a, "2"}, stranger);
    EXPECT_EQ(strangers.read_line(), "grants=0");
    EXPECT_EQ(strangers.wait(), 0);
}

TEST_F(BrokerTest, ListGrantsRefusesWhatAcquireRefuses)
{
    Process no_bar = client({"grants", device_a, "4"}, nobody);
    const std::string missing = first_line(no_bar);
    EXPECT_TRUE(contains(missing, "error=ERANGE")) << missing;
    EXPECT_TRUE(contains(missing, "has no BAR 4")) << missing;
    Process bad_index = client({"grants", device_a, "6"}, nobody);
    EXPECT_TRUE(contains(first_line(bad_index), "bar: 6 is not a BAR index; use 0 to 5"));
    Process unknown = client({"grants", "0000:00:09.0", "2"}, nobody);
    EXPECT_TRUE(contains(first_line(unknown), "error=ENODEV"));
    Process malformed = client({"grants", "eth0", "2"}, nobody);
    EXPECT_TRUE(contains(first_line(malformed), "error=EINVAL"));
}

TEST_F(BrokerTest, AMappingCanBePlacedAtTheClientsAddress)
{
    pci_.fill_bar(device_a, 2, "placed");
    Process c = client({"map", device_a, "2", "0", "8192", "wc", "--fixed", "--read", "6"}, nobody);
    const std::string acquired = first_line(c);
    EXPECT_TRUE(contains(acquired, "memtype=write-combining")) << acquired;
    EXPECT_EQ(c.read_line(), "fixed=yes");
    EXPECT_EQ(c.read_line(), "read=" + hex_of("placed"));
    EXPECT_EQ(c.read_line(), "released=0");
    EXPECT_EQ(c.wait(), 0);
}

TEST_F(BrokerTest, LibwcbrokerCanDemandAKernelEnforcedRange)
{
    // The fake tree has no wcalias module: the demand is refused, not downgraded.
    Process c = client({"map", device_a, "2", "0", "4096", "wc", "--kernel-enforced"}, nobody);
    const std::string line = first_line(c);
    EXPECT_TRUE(contains(line, "error=EOPNOTSUPP")) << line;
    EXPECT_TRUE(contains(line, "the wcalias module is not loaded")) << line;
    EXPECT_EQ(lease_count(), 0u);
}

TEST_F(BrokerTest, PolicyFilesAreListedToNobodyOverTheBus)
{
    const Result as_nobody = busctl({"get-property", "org.wcbroker.Broker1", "/org/wcbroker/Broker1",
        "org.wcbroker.Broker1", "PolicyFiles"}, nobody);
    EXPECT_EQ(as_nobody.exit_code, 0) << as_nobody.err;
    EXPECT_EQ(as_nobody.out, "as 0\n");
}

TEST_F(BrokerTest, WcbrokerctlShowsDevicesLeasesAndAcquires)
{
    const Result devices = ctl({"list-devices"}, nobody);
    EXPECT_EQ(devices.exit_code, 0) << devices.err;
    EXPECT_TRUE(contains(devices.out, "0000:00:03.0   1af4:1110")) << devices.out;
    const Result facts = ctl({"show-device", "--facts", device_a}, nobody);
    EXPECT_TRUE(contains(facts.out, "address = '0000:00:03.0'")) << facts.out;

    const Result acquire = ctl({"acquire", "--access", "wc", "--write-pattern", "wcbroker!", device_a, "2", "0", "8192"}, nobody);
    EXPECT_EQ(acquire.exit_code, 0) << acquire.err;
    EXPECT_TRUE(contains(acquire.out, "Memtype:    write-combining")) << acquire.out;
    EXPECT_TRUE(contains(acquire.out, "Released:   yes")) << acquire.out;
    EXPECT_EQ(file_head(pci_.device_dir(device_a) + "/resource2_wc", 18), "wcbroker!wcbroker!");

    const Result denied = ctl({"acquire", "--access", "wc", device_a, "2"}, stranger);
    EXPECT_EQ(denied.exit_code, 1);
    EXPECT_TRUE(contains(denied.err, "Permission denied")) << denied.err;
}

TEST_F(BrokerTest, BusctlDrivesTheApiAsAForeignClient)
{
    const Result devices = busctl({"call", "org.wcbroker.Broker1", "/org/wcbroker/Broker1", "org.wcbroker.Broker1",
        "ListDevices"}, nobody);
    EXPECT_EQ(devices.exit_code, 0) << devices.err;
    EXPECT_TRUE(contains(devices.out, "\"/org/wcbroker/Broker1/device/0000_00_03_0\" \"0000:00:03.0\" 6900 4368"))
        << devices.out;
    const Result version = busctl({"get-property", "org.wcbroker.Broker1", "/org/wcbroker/Broker1",
        "org.wcbroker.Broker1", "Version"});
    EXPECT_TRUE(contains(version.out, "s \"")) << version.out;
    const Result bars = busctl({"get-property", "org.wcbroker.Broker1", "/org/wcbroker/Broker1/device/0000_00_03_0",
        "org.wcbroker.Device1", "Bars"});
    EXPECT_TRUE(contains(bars.out, "\"memory64\" true true \"\"")) << bars.out;
    const Result explain = busctl({"call", "org.wcbroker.Broker1", "/org/wcbroker/Broker1", "org.wcbroker.Broker1",
        "Explain", "sutts", device_a, "2", "0", "4096", "write-combine"}, nobody);
    // busctl escapes the rule's quotes. Not root: the name, not the file.
    EXPECT_TRUE(contains(explain.out, "bsss true \"\\'wc-nobody\\'\" ")) << explain.out << explain.err;
    EXPECT_TRUE(contains(explain.out, "\"sysfs-wc\"")) << explain.out;
}

TEST_F(BrokerTest, TheDocumentedClientExampleWorks)
{
    const Result example = run({WC_CLIENT_EXAMPLE_PATH, device_a, "2", "0", "0x10000"}, nobody);
    EXPECT_EQ(example.exit_code, 0) << example.out << example.err;
    EXPECT_TRUE(contains(example.out, "mapped 65536 bytes at 0x")) << example.out;
    EXPECT_TRUE(contains(example.out, "memory type write-combining")) << example.out;
    EXPECT_TRUE(contains(example.out, "wrote 64 descriptors and fenced")) << example.out;
    // The first descriptor word landed in the BAR: "WC" and index 0, little-endian.
    EXPECT_EQ(file_head(pci_.device_dir(device_a) + "/resource2_wc", 8), std::string("\0\0\0\0\0\0CW", 8));
    const Result denied = run({WC_CLIENT_EXAMPLE_PATH, device_a, "2", "0", "0x10000"}, stranger);
    EXPECT_EQ(denied.exit_code, 1);
    EXPECT_TRUE(contains(denied.err, "(Permission denied)")) << denied.err;
}

TEST_F(BrokerTest, MonitorShowsLeasesRevocationsAndDevicesAsTheyHappen)
{
    SpawnOptions options;
    options.env = client_env_;
    Process monitor = spawn({WCBROKERCTL_PATH, "monitor", "--json"}, options);
    ASSERT_EQ(monitor.read_line(), "{\"event\" : \"watching\"}");
    Process holder = client({"map", device_a, "2", "0", "4096", "wc", "--hold"}, nobody);
    ASSERT_TRUE(contains(first_line(holder), "lease="));
    const std::string granted = monitor.read_line().value_or("");
    EXPECT_TRUE(contains(granted, "\"event\" : \"lease-granted\"")) << granted;
    EXPECT_TRUE(contains(granted, "\"memtype\" : \"write-combining\"")) << granted;
    EXPECT_TRUE(contains(granted, "\"uid\" : 65534")) << granted;
    pci_.rebind(device_a, "");
    // Revoked is the owner's alone (a unicast signal): the monitor sees the lease end.
    EXPECT_TRUE(contains(monitor.read_line().value_or(""), "lease-ended"));
    const std::string removed = monitor.read_line().value_or("");
    EXPECT_TRUE(contains(removed, "\"event\" : \"device-removed\"")) << removed;
    pci_.rebind(device_a, "vfio-pci");
    EXPECT_TRUE(contains(monitor.read_line().value_or(""), "device-added"));
    monitor.signal(SIGTERM);
}

TEST_F(BrokerTest, TwoHundredConcurrentClientsLeaveNothingBehind)
{
    warm_up();
    const std::size_t fds_before = daemon_fd_count();
    std::vector<Process> clients;
    for (int i = 0; i < 200; ++i)
        clients.push_back(client({"churn", device_a, "2", std::to_string((i % 2) * 4096), "4096", "wc", "3"}, nobody));
    int churned = 0;
    int refused = 0;
    for (Process& c : clients) {
        const std::string line = c.read_line(60s).value_or("");
        if (contains(line, "churned=3"))
            ++churned;
        else if (contains(c.rest_of_output(), "error=EDQUOT"))
            ++refused; // three leases at once is the rule's limit
        c.wait(30s);
    }
    EXPECT_EQ(churned + refused, 200);
    EXPECT_GT(churned, 0);
    EXPECT_TRUE(eventually([&] { return lease_count() == 0; }, 20s));
    EXPECT_TRUE(eventually([&] { return daemon_fd_count() == fds_before; }, 20s))
        << daemon_fd_count() << " fds now, " << fds_before << " before";
}

} // namespace
} // namespace wcbroker::test
