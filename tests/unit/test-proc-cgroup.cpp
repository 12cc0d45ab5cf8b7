#include "proc-cgroup.hpp"

#include <gtest/gtest.h>

namespace wcbroker {
namespace {

TEST(ProcCgroup, UnifiedHierarchy)
{
    EXPECT_EQ(parse_proc_cgroup("0::/system.slice/dpdk.service\n"), "/system.slice/dpdk.service");
}

TEST(ProcCgroup, LegacyHierarchyUsesTheSystemdOne)
{
    EXPECT_EQ(parse_proc_cgroup("12:cpu,cpuacct:/x\n1:name=systemd:/system.slice/spdk.service\n"),
        "/system.slice/spdk.service");
}

TEST(ProcCgroup, HybridPrefersTheUnifiedLine)
{
    EXPECT_EQ(parse_proc_cgroup("1:name=systemd:/old\n0::/system.slice/new.service\n"), "/system.slice/new.service");
}

TEST(ProcCgroup, GarbageGivesNothing)
{
    EXPECT_EQ(parse_proc_cgroup(""), std::nullopt);
    EXPECT_EQ(parse_proc_cgroup("nonsense\n0::relative\n"), std::nullopt);
}

TEST(UnitOfCgroup, InnermostServiceOrScope)
{
    EXPECT_EQ(unit_of_cgroup("/system.slice/dpdk.service"), "dpdk.service");
    EXPECT_EQ(unit_of_cgroup("/system.slice/dpdk.service/worker"), "dpdk.service");
    EXPECT_EQ(unit_of_cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope"), "run-r1.scope");
    EXPECT_EQ(unit_of_cgroup("/system.slice"), std::nullopt);
    EXPECT_EQ(unit_of_cgroup("/"), std::nullopt);
}

} // namespace
} // namespace wcbroker
