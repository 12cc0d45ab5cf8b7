// Lease records: what a crashed daemon leaves for its successor must come
// back exactly, and a damaged record must be refused with the reason.

#include "lease-record.hpp"

#include <gtest/gtest.h>

namespace wcbroker {
namespace {

Lease sample_lease()
{
    Lease lease;
    lease.id = 42;
    lease.owner = ":1.17";
    lease.holder.uid = 1000;
    lease.holder.gids = {1000, 2000};
    lease.holder.pid = 4242;
    lease.holder.systemd_unit = "dpdk@eth0.service";
    lease.holder.cgroup = "/system.slice/system-dpdk.slice/dpdk@eth0.service";
    lease.address = "0000:3b:00.0";
    lease.request = {2, 0x4000, 0x10000, Access::WriteCombine};
    lease.memtype = Memtype::WriteCombining;
    lease.verification = "the PAT memtype list shows write-combining for [0xe0104000, 0xe0114000)";
    lease.mechanism = "sysfs-wc";
    lease.range_enforcement = RangeEnforcement::Advisory;
    lease.rule = "ena-llq";
    lease.rule_label = "'ena-llq' (/etc/wcbroker/policy.toml:12:1)";
    lease.label = "txq 3";
    lease.client_requires_verified_wc = true;
    lease.created_realtime_usec = 1795296693859429;
    lease.file = {"/sys/bus/pci/devices/0000:3b:00.0/resource2_wc", 22, 31337};
    return lease;
}

const LeaseRecord& must_parse(const std::variant<LeaseRecord, std::string>& parsed)
{
    if (const auto* problem = std::get_if<std::string>(&parsed))
        ADD_FAILURE() << *problem;
    static const LeaseRecord empty{};
    return std::holds_alternative<LeaseRecord>(parsed) ? std::get<LeaseRecord>(parsed) : empty;
}

TEST(LeaseRecord, RoundTripsEveryFieldARestartNeeds)
{
    const Lease lease = sample_lease();
    const auto parsed = parse_lease_record(format_lease_record(lease, "8a0c6d0f2d3f4e0bb6f1c0a4d2e5f718"));
    const LeaseRecord& record = must_parse(parsed);
    EXPECT_EQ(record.bus_id, "8a0c6d0f2d3f4e0bb6f1c0a4d2e5f718");
    const LeaseInfo& back = record.lease;
    EXPECT_EQ(back.id, 42u);
    EXPECT_EQ(back.owner, ":1.17");
    EXPECT_EQ(back.holder.uid, 1000u);
    EXPECT_EQ(back.holder.gids, (std::vector<gid_t>{1000, 2000}));
    EXPECT_EQ(back.holder.pid, 4242);
    EXPECT_EQ(back.holder.systemd_unit, lease.holder.systemd_unit);
    EXPECT_EQ(back.holder.cgroup, lease.holder.cgroup);
    EXPECT_EQ(back.address, "0000:3b:00.0");
    EXPECT_EQ(back.request.bar, 2u);
    EXPECT_EQ(back.request.offset, 0x4000u);
    EXPECT_EQ(back.request.length, 0x10000u);
    EXPECT_EQ(back.request.access, Access::WriteCombine);
    EXPECT_EQ(back.memtype, Memtype::WriteCombining);
    EXPECT_EQ(back.verification, lease.verification);
    EXPECT_EQ(back.mechanism, "sysfs-wc");
    EXPECT_EQ(back.range_enforcement, RangeEnforcement::Advisory);
    EXPECT_EQ(back.rule, "ena-llq");
    EXPECT_EQ(back.rule_label, lease.rule_label);
    EXPECT_EQ(back.label, "txq 3");
    EXPECT_TRUE(back.client_requires_verified_wc);
    EXPECT_EQ(back.created_realtime_usec, lease.created_realtime_usec);
    EXPECT_EQ(back.file.path, lease.file.path);
    EXPECT_TRUE(back.file.same_file(lease.file));
}

TEST(LeaseRecord, OddCharactersInFreeTextSurvive)
{
    Lease lease = sample_lease();
    lease.holder.cgroup = "/weird\nname\\with=equals";
    lease.holder.systemd_unit.reset();
    lease.verification = "line one\nline two \\n literally";
    const auto parsed = parse_lease_record(format_lease_record(lease, "b"));
    const LeaseRecord& record = must_parse(parsed);
    EXPECT_EQ(record.lease.holder.cgroup, lease.holder.cgroup);
    EXPECT_FALSE(record.lease.holder.systemd_unit);
    EXPECT_EQ(record.lease.verification, lease.verification);
}

TEST(LeaseRecord, UnknownKeysAreIgnoredForNewerDaemons)
{
    const std::string text = format_lease_record(sample_lease(), "b") + "some_future_key=1\n";
    EXPECT_TRUE(std::holds_alternative<LeaseRecord>(parse_lease_record(text)));
}

std::string damaged(const std::string& key, const std::string& value)
{
    std::string text = format_lease_record(sample_lease(), "b");
    const auto start = text.find("\n" + key + "=") + 1;
    const auto end = text.find('\n', start);
    text.replace(start, end - start, value.empty() ? "" : key + "=" + value);
    return text;
}

std::string problem_of(const std::string& text)
{
    const auto parsed = parse_lease_record(text);
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "(accepted)";
}

TEST(LeaseRecord, DamageIsRefusedWithTheReason)
{
    EXPECT_EQ(problem_of(damaged("owner", "")), "no owner=");
    EXPECT_EQ(problem_of(damaged("owner", "org.example.NotUnique")), "owner=org.example.NotUnique is not a unique bus name");
    EXPECT_EQ(problem_of(damaged("uid", "-1")), "uid=-1 is not a number in range");
    EXPECT_EQ(problem_of(damaged("gids", "1000,,2000")), "gids=1000,,2000 is not a comma-separated list of numbers");
    EXPECT_EQ(problem_of(damaged("device", "3b:00.0")), "device=3b:00.0 is not a PCI address");
    EXPECT_EQ(problem_of(damaged("id", "0")), "id=0 is not a lease id (1 to 4611686018427387904)");
    // Counting on from an id near 2^64 would wrap onto the ids of live leases.
    EXPECT_EQ(problem_of(damaged("id", "18446744073709551615")),
        "id=18446744073709551615 is not a lease id (1 to 4611686018427387904)");
    EXPECT_EQ(problem_of(damaged("bar", "6")), "bar=6 is not a BAR index (0 to 5)");
    EXPECT_EQ(problem_of(damaged("length", "0")), "offset and length do not describe a range");
    EXPECT_EQ(problem_of(damaged("offset", "18446744073709551615")), "offset and length do not describe a range");
    EXPECT_EQ(problem_of(damaged("access", "fast")), "access=fast is neither write-combine nor uncached");
    EXPECT_EQ(problem_of(damaged("version", "2")), "version 2 is not one this wcbrokerd reads (1)");
    EXPECT_EQ(problem_of("version=1\nid=1\nid=2\n"), "line 3 repeats the key id");
    EXPECT_EQ(problem_of("version=1\nno equals sign\n"), "line 2 is not key=value");
    EXPECT_EQ(problem_of("version=1\nlabel=bad \\x escape\n"), "line 2 has a bad escape");
    EXPECT_EQ(problem_of(""), "no version=");
}

} // namespace
} // namespace wcbroker

namespace wcbroker {
namespace {

TEST(LeaseRecord, AWcaliasLeaseKeepsItsAliasId)
{
    Lease lease = sample_lease();
    lease.mechanism = "wcalias";
    lease.range_enforcement = RangeEnforcement::Kernel;
    lease.alias_id = 77;
    lease.file = {"wcalias:77", 15, 1234};
    const std::string text = format_lease_record(lease, "bus");
    EXPECT_NE(text.find("alias_id=77\n"), std::string::npos) << text;
    const auto round_trip = parse_lease_record(text);
    const LeaseRecord& record = must_parse(round_trip);
    EXPECT_EQ(record.lease.alias_id, 77u);
    EXPECT_EQ(record.lease.range_enforcement, RangeEnforcement::Kernel);
    // A sysfs lease writes none, and an older daemon's record reads as 0.
    EXPECT_EQ(format_lease_record(sample_lease(), "bus").find("alias_id"), std::string::npos);
    // The two must agree: an alias id on a sysfs lease, or a wcalias lease without one, is damage.
    std::string without = text;
    without.erase(without.find("alias_id=77\n"), 12);
    const auto parsed = parse_lease_record(without);
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
    EXPECT_NE(std::get<std::string>(parsed).find("do not go together"), std::string::npos);
    const auto bad = parse_lease_record(text.substr(0, text.find("alias_id=")) + "alias_id=x\n");
    ASSERT_TRUE(std::holds_alternative<std::string>(bad));
}

} // namespace
} // namespace wcbroker
