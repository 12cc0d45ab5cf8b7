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

TEST(UnitOfCgroup, TheSystemManagersUnitBelowTheSlices)
{
    const std::pair<const char*, std::optional<std::string>> cases[] = {
        {"/system.slice/dpdk.service", "dpdk.service"},
        {"/system.slice/dpdk.service/worker", "dpdk.service"},
        {"/system.slice/system-dpdk.slice/dpdk@eth0.service", "dpdk@eth0.service"},
        {"/system.slice/system-dpdk.slice/dpdk@eth0.service/a/b/c", "dpdk@eth0.service"},
        {"/init.scope", "init.scope"},
        {"/machine.slice/machine-vm1.scope/payload", "machine-vm1.scope"},
        {"/user.slice/user-1000.slice/session-4.scope", "session-4.scope"},
        {"/user.slice/user-1000.slice/user@1000.service", "user@1000.service"},
        // Under the user's manager, names are the user's: never a system unit.
        {"/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope", "user@1000.service"},
        {"/user.slice/user-1000.slice/user@1000.service/app.slice/dpdk-evil.service", "user@1000.service"},
        {"/user.slice/user-1000.slice/user@1000.service/init.scope", "user@1000.service"},
        // Nor under a system service that delegates its subtree.
        {"/system.slice/container.service/dpdk-evil.service", "container.service"},
        {"/system.slice/container.service/x.slice/dpdk-evil.service", "container.service"},
        {"//system.slice//dpdk.service//", "dpdk.service"},
        {"/system.slice", std::nullopt},
        {"/user.slice/user-1000.slice", std::nullopt},
        {"/", std::nullopt},
        {"", std::nullopt},
        {"/system.slice/boot.mount", std::nullopt},
        {"/system.slice/weird/dpdk.service", std::nullopt},
        {"/docker/0123abcd/dpdk.service", std::nullopt},
        {"/lxc.payload.c1/system.slice/dpdk.service", std::nullopt},
    };
    for (const auto& [path, unit] : cases)
        EXPECT_EQ(unit_of_cgroup(path), unit) << path;
}

} // namespace
} // namespace wcbroker
