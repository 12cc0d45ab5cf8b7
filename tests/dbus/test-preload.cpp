// The preload shim (client/preload) in a program that maps BARs the way
// DPDK does (tests/preload/dpdk-like.c), run through `wcbrokerctl exec`
// against the real wcbrokerd. No VFIO device exists on a build host: the
// VFIO ioctls come from tests/preload/fake-vfio.c, preloaded after the
// shim, whose "device fd" is a file full of 'V'; the leases map the fake
// sysfs BAR files, full of 'W'. Which letter the program reads says who
// mapped each byte.
#include "broker-fixture.hpp"

#include <csignal>
#include <fstream>
#include <sys/stat.h>
#include <sys/statvfs.h>

namespace wcbroker::test {
namespace {

namespace fs = std::filesystem;

// ENA-like: BAR2's first 64 KiB write-combining (the LLQ), the rest
// uncached; BAR0 (registers) granted to nobody, so it stays VFIO's. User 1
// gets only the LLQ part: less than the BAR.
const char* const preload_policy = R"(version = 1
[selector.a]
address = "0000:00:03.0"

[[rule]]
name = "llq-wc"
devices = ["a"]
bar = 2
ranges = [ { offset = 0, length = "64KiB" } ]
access = "write-combine"
users = [65534]

[[rule]]
name = "rest-uc"
devices = ["a"]
bar = 2
ranges = [ { offset = "64KiB", length = "960KiB" } ]
access = "uncached"
users = [65534]

[[rule]]
name = "llq-only"
devices = ["a"]
bar = 2
ranges = [ { offset = 0, length = "64KiB" } ]
access = "write-combine"
users = [1]
)";

class PreloadTest : public BrokerTest {
protected:
    void SetUp() override
    {
        BrokerTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        pci_.set_pat_memtype_list(pci_.pat_line(device_a, 2, 0, 0x10000, "write-combining")
            + pci_.pat_line(device_a, 2, 0x10000, 0xf0000, "uncached-minus"));
        pci_.fill_bar(device_a, 2, std::string(0x100000, 'W'));
        write_policy(preload_policy);
        ASSERT_EQ(ctl({"reload", "--bus", address_}).exit_code, 0);

        group_ = dir_ / "fake-vfio-group";
        device_file_ = dir_ / "fake-vfio-device";
        std::ofstream(group_).put('\0');
        std::ofstream(device_file_) << std::string(0x300000, 'V');
        for (const fs::path& file : {group_, device_file_})
            fs::permissions(file, fs::perms::all & ~(fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec));
    }

    // The shim's environment: what `wcbrokerctl exec` adds goes in front.
    std::vector<std::string> environment(const std::string& bus) const
    {
        std::vector<std::string> env;
        for (const std::string& entry : client_env_) {
            if (entry.rfind("DBUS_SYSTEM_BUS_ADDRESS=", 0) != 0)
                env.push_back(entry);
        }
        env.push_back("DBUS_SYSTEM_BUS_ADDRESS=" + bus);
        env.push_back("LD_PRELOAD=" FAKE_VFIO_PATH);
        env.push_back("FAKE_VFIO_GROUP=" + group_.string());
        env.push_back("FAKE_VFIO_DEVICE=" + device_file_.string());
        // Not vfio-pci's index << 40: the shim must ask, not compute.
        env.push_back("FAKE_VFIO_BARS=0:10000:1000,2:200000:100000");
        return env;
    }

    Process dpdk_like(const Credentials& who, const std::vector<std::string>& exec_options = {},
        const std::optional<std::string>& bus = std::nullopt)
    {
        std::vector<std::string> argv{WCBROKERCTL_PATH, "exec", "--preload", PRELOAD_PATH};
        argv.insert(argv.end(), exec_options.begin(), exec_options.end());
        argv.insert(argv.end(), {"--", DPDK_LIKE_PATH, group_.string(), device_a, "0", "2"});
        SpawnOptions options;
        options.as = who;
        options.env = environment(bus.value_or(address_));
        options.stdin_pipe = true;
        return spawn(argv, options);
    }

    // "peek" and its answer, one line per BAR.
    std::vector<std::string> peek(Process& program)
    {
        program.write_input("peek\n");
        std::vector<std::string> lines;
        while (auto line = program.read_line(std::chrono::seconds(15))) {
            if (*line == "peeked")
                break;
            lines.push_back(*line);
        }
        return lines;
    }

    std::string leases_text() { return ctl({"list-leases", "--json", "--bus", address_}).out; }

    fs::path group_;
    fs::path device_file_;
};

const std::vector<std::string> bar0_vfio_bar2_leased{
    "BAR0 first=V middle=V last=V", "BAR2 first=W middle=W last=W"};

TEST_F(PreloadTest, Bar2ComesFromAWriteCombiningAndAnUncachedLeaseAndBar0StaysVfios)
{
    Process program = dpdk_like(nobody);
    ASSERT_EQ(first_line(program), "mapped 2");
    EXPECT_EQ(peek(program), bar0_vfio_bar2_leased);
    EXPECT_EQ(lease_count(), 2u);
    const std::string leases = leases_text();
    EXPECT_TRUE(contains(leases, "preload:dpdk-like[" + std::to_string(program.pid()) + "]")) << leases;
    EXPECT_TRUE(contains(leases, "llq-wc")) << leases;
    EXPECT_TRUE(contains(leases, "rest-uc")) << leases;

    // DPDK unmaps a BAR in one call, over all its pieces.
    program.write_input("unmap\n");
    EXPECT_EQ(program.read_line(), "unmapped");
    EXPECT_TRUE(eventually([&] { return lease_count() == 0; })) << leases_text();
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
    const std::string err = program.stderr_output();
    EXPECT_TRUE(contains(err,
        "wcbroker-preload: 0000:00:03.0 BAR0: falling back to the VFIO mapping (uncached): wcbrokerd: "))
        << err;
    EXPECT_FALSE(contains(err, "BAR2")) << err;
}

// Exit asks wcbrokerd nothing: a hung wcbrokerd must not hold up exit (a
// D-Bus call waits 25 s), nor may the shim revoke pages under threads still
// running. The leases end with the connection.
TEST_F(PreloadTest, ExitLeavesTheLeasesToTheConnectionsEndAndNeverWaitsForWcbrokerd)
{
    Process program = dpdk_like(nobody);
    ASSERT_EQ(first_line(program), "mapped 2");
    ASSERT_EQ(lease_count(), 2u);
    ASSERT_EQ(::kill(daemon_pid(), SIGSTOP), 0);
    program.write_input("quit\n");
    const auto exit_code = program.wait(std::chrono::seconds(5));
    ASSERT_EQ(::kill(daemon_pid(), SIGCONT), 0);
    EXPECT_EQ(exit_code, 0) << "exit waited for a stopped wcbrokerd";
    EXPECT_TRUE(eventually([&] { return lease_count() == 0; })) << leases_text();
    const std::string log = daemon_log();
    EXPECT_TRUE(contains(log, "lease-owner-gone")) << log;
}

TEST_F(PreloadTest, AForkedChildNeitherReleasesNorBreaksTheParentsLeases)
{
    Process program = dpdk_like(nobody);
    ASSERT_EQ(first_line(program), "mapped 2");
    program.write_input("fork\n");
    EXPECT_EQ(program.read_line(), "forked 0");
    EXPECT_EQ(lease_count(), 2u);
    EXPECT_EQ(peek(program), bar0_vfio_bar2_leased);
    program.write_input("unmap\n");
    EXPECT_EQ(program.read_line(), "unmapped");
    EXPECT_TRUE(eventually([&] { return lease_count() == 0; })) << "the parent's session still works";
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
}

TEST_F(PreloadTest, ASecondProcessGetsTheSameRangesToo)
{
    // A DPDK secondary process maps the same BARs with the same access.
    Process primary = dpdk_like(nobody);
    ASSERT_EQ(first_line(primary), "mapped 2");
    Process secondary = dpdk_like(nobody);
    ASSERT_EQ(first_line(secondary), "mapped 2");
    EXPECT_EQ(peek(secondary), bar0_vfio_bar2_leased);
    EXPECT_EQ(lease_count(), 4u);
    secondary.write_input("quit\n");
    EXPECT_EQ(secondary.wait(), 0);
    EXPECT_TRUE(eventually([&] { return lease_count() == 2; }));
    EXPECT_EQ(peek(primary), bar0_vfio_bar2_leased);
}

TEST_F(PreloadTest, WithoutWcbrokerdEveryBarStaysVfiosWithOneLine)
{
    Process program = dpdk_like(nobody, {}, "unix:path=" + (dir_ / "no-such-bus").string());
    ASSERT_EQ(first_line(program), "mapped 2");
    EXPECT_EQ(peek(program), (std::vector<std::string>{"BAR0 first=V middle=V last=V", "BAR2 first=V middle=V last=V"}));
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
    const std::string err = program.stderr_output();
    EXPECT_TRUE(contains(err, "wcbroker-preload: 0000:00:03.0 BAR0: falling back to the VFIO mapping (uncached): "
                              "wcbrokerd unreachable: "))
        << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line per reason, not per BAR:\n" << err;
}

// sd-bus forks (and execs) for a unixexec: bus address, inside the shim's
// slow path: its fork handlers must not take the mutex that path holds.
TEST_F(PreloadTest, ABusAddressThatForksDoesNotHangTheProgram)
{
    Process program = dpdk_like(nobody, {}, "unixexec:path=/bin/true");
    ASSERT_EQ(first_line(program), "mapped 2");
    EXPECT_EQ(peek(program), (std::vector<std::string>{"BAR0 first=V middle=V last=V", "BAR2 first=V middle=V last=V"}));
    program.write_input("fork\n");
    EXPECT_EQ(program.read_line(), "forked 0") << "the program's own fork still works";
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
    const std::string err = program.stderr_output();
    EXPECT_TRUE(contains(err, "BAR0: falling back to the VFIO mapping (uncached): wcbrokerd unreachable: ")) << err;
}

// A hung wcbrokerd costs sd-bus's 25 s timeout per attempt: one attempt
// serves every BAR of the probe (seen with --debug, which tells each BAR).
TEST_F(PreloadTest, AnUnreachableWcbrokerdIsNotAskedAgainForEveryBar)
{
    Process program = dpdk_like(nobody, {"--debug"}, "unix:path=" + (dir_ / "no-such-bus").string());
    ASSERT_EQ(first_line(program), "mapped 2");
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
    const std::string err = program.stderr_output();
    EXPECT_TRUE(contains(err, "BAR0: falling back to the VFIO mapping (uncached): wcbrokerd unreachable: ")) << err;
    EXPECT_TRUE(contains(err, "BAR2: falling back to the VFIO mapping (uncached): wcbrokerd unreachable: ")) << err;
    EXPECT_TRUE(contains(err, "(not asked again for 30 s)")) << err;
}

TEST_F(PreloadTest, PartOfABarIsNotEnough)
{
    Process program = dpdk_like(stranger);
    ASSERT_EQ(first_line(program), "mapped 2");
    EXPECT_EQ(peek(program)[1], "BAR2 first=V middle=V last=V");
    EXPECT_EQ(lease_count(), 0u);
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
    const std::string err = program.stderr_output();
    EXPECT_TRUE(contains(err, "0000:00:03.0 BAR2: falling back to the VFIO mapping (uncached): wcbrokerd grants this "
                              "caller only part of 0x0+0x100000"))
        << err;
}

TEST_F(PreloadTest, ALeaseRefusedHalfwayUndoesTheOthersAndLeavesTheBarToVfio)
{
    // User 1 holds a WC lease inside the range nobody's UC rule grants
    // (through another selector for the same device, so the policy loads):
    // nobody's WC piece is granted, its UC piece refused as conflicting.
    write_policy(std::string(preload_policy) + R"(
[selector.ivshmem]
vendor = 0x1af4
device = 0x1110

[[rule]]
name = "other-wc"
devices = ["ivshmem"]
bar = 2
ranges = [ { offset = "128KiB", length = "64KiB" } ]
access = "write-combine"
users = [1]
)");
    ASSERT_EQ(ctl({"reload", "--bus", address_}).exit_code, 0);
    SpawnOptions options;
    options.as = stranger;
    options.env = client_env_;
    Process holder = spawn({WCBROKERCTL_PATH, "acquire", "--access", "wc", "--hold=60", "--bus", address_, device_a, "2",
                               "128KiB", "64KiB"},
        options);
    ASSERT_TRUE(eventually([&] { return lease_count() == 1; })) << holder.stderr_output();

    Process program = dpdk_like(nobody);
    ASSERT_EQ(first_line(program), "mapped 2");
    EXPECT_EQ(peek(program), (std::vector<std::string>{"BAR0 first=V middle=V last=V", "BAR2 first=V middle=V last=V"}));
    EXPECT_TRUE(eventually([&] { return lease_count() == 1; })) << "the WC piece was released again:\n"
                                                                << leases_text();
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
    const std::string err = program.stderr_output();
    EXPECT_TRUE(contains(err, "wcbroker-preload: 0000:00:03.0 BAR2: falling back to the VFIO mapping (uncached): "
                              "wcbrokerd: "))
        << err;
    // The WC piece really was leased, then given back.
    const std::string log = daemon_log();
    EXPECT_TRUE(contains(log, "kind=acquire-granted bus_name=") && contains(log, "kind=lease-released")) << log;
    holder.signal(SIGTERM);
}

TEST_F(PreloadTest, RequireRefusesWhatWouldStayVfios)
{
    Process program = dpdk_like(nobody, {"--require", "--debug"});
    EXPECT_EQ(first_line(program), "BAR0: mmap failed: Permission denied");
    EXPECT_EQ(program.read_line(), "mapped 1");
    EXPECT_EQ(lease_count(), 2u);
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
    const std::string err = program.stderr_output();
    EXPECT_TRUE(contains(err, "wcbroker-preload: 0000:00:03.0 BAR0: refusing the mapping (WCBROKER_PRELOAD_REQUIRE)"))
        << err;
    EXPECT_TRUE(contains(err, "write-combine")) << "--debug shows each piece:\n" << err;
}

// A device fd number closed where the shim cannot see it (dup2 over it)
// and given to an ordinary file: mapping that file maps the file, never
// the BAR's leases.
TEST_F(PreloadTest, AnFdNumberReusedBehindTheShimsBackMapsItsOwnFile)
{
    const fs::path other = dir_ / "ordinary-file";
    std::ofstream(other) << std::string(0x300000, 'F');
    fs::permissions(other, fs::perms::others_read | fs::perms::others_write, fs::perm_options::add);
    Process program = dpdk_like(nobody);
    ASSERT_EQ(first_line(program), "mapped 2");
    ASSERT_EQ(lease_count(), 2u);
    program.write_input("reuse " + other.string() + "\n");
    EXPECT_EQ(program.read_line(), "reused first=F");
    EXPECT_EQ(lease_count(), 2u) << "no lease for the ordinary file:\n" << leases_text();
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
}

// MAP_FIXED_NOREPLACE means there or nowhere: over an existing mapping the
// kernel refuses (EEXIST), and so must the shim, not lease somewhere else.
TEST_F(PreloadTest, MapFixedNoReplaceOverAMappingFailsAsTheKernelWould)
{
    SpawnOptions options;
    options.as = nobody;
    options.env = environment(address_);
    options.env.push_back("DPDK_LIKE_NOREPLACE=1");
    options.stdin_pipe = true;
    Process program = spawn({WCBROKERCTL_PATH, "exec", "--preload", PRELOAD_PATH, "--", DPDK_LIKE_PATH, group_.string(),
                                device_a, "0", "2"},
        options);
    EXPECT_EQ(first_line(program), "BAR0: mmap failed: File exists");
    EXPECT_EQ(program.read_line(), "BAR2: mmap failed: File exists");
    EXPECT_EQ(program.read_line(), "mapped 0");
    EXPECT_EQ(lease_count(), 0u);
    program.write_input("quit\n");
    EXPECT_EQ(program.wait(), 0);
}

// The system's programs are not built with sanitizers; a shim that is cannot
// be loaded into them (its runtime lives in instrumented executables).
#define SKIP_IN_A_SANITIZED_BUILD()                                                                              \
    do {                                                                                                         \
        if (SANITIZED_SHIM)                                                                                      \
            GTEST_SKIP() << "SKIP: a shim built with sanitizers cannot load into /bin programs; the plain build " \
                            "runs this test";                                                                    \
    } while (false)

TEST_F(PreloadTest, ExecRunsUnrelatedProgramsUntouched)
{
    SKIP_IN_A_SANITIZED_BUILD();
    auto result = run({WCBROKERCTL_PATH, "exec", "--preload", PRELOAD_PATH, "--", "/bin/sh", "-c",
        "case \"$LD_PRELOAD\" in " PRELOAD_PATH "*) echo preloaded;; esac; cat /proc/self/maps | grep -c wcbroker-preload"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(contains(result.out, "preloaded\n")) << result.out;
    EXPECT_TRUE(result.err.empty()) << result.err;

    result = run({WCBROKERCTL_PATH, "exec", "--preload", (dir_ / "nothing.so").string(), "--", "/bin/true"});
    EXPECT_EQ(result.exit_code, 3);
    EXPECT_TRUE(contains(result.err, "is not there")) << result.err;
    result = run({WCBROKERCTL_PATH, "exec", "--preload", PRELOAD_PATH, "--", "/no/such/program"});
    EXPECT_EQ(result.exit_code, 127);
    result = run({WCBROKERCTL_PATH, "exec"});
    EXPECT_EQ(result.exit_code, 2);
}

// ld.so ignores LD_PRELOAD paths in secure-execution mode: exec says so
// rather than let every BAR stay VFIO's in silence.
TEST_F(PreloadTest, ExecSaysTheShimCannotLoadIntoASetUidProgram)
{
    SKIP_IN_A_SANITIZED_BUILD();
    const fs::path program = dir_ / "setuid-true";
    fs::copy_file("/bin/true", program);
    ASSERT_EQ(::chmod(program.c_str(), 04755), 0);
    ASSERT_EQ(::geteuid(), 0u) << "the file must belong to another uid than the caller's";
    struct statvfs mount{};
    if (::statvfs(dir_.c_str(), &mount) == 0 && (mount.f_flag & ST_NOSUID) != 0)
        GTEST_SKIP() << dir_ << " is on a nosuid mount";

    auto result = run({WCBROKERCTL_PATH, "exec", "--preload", PRELOAD_PATH, "--", program.string()}, nobody);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(contains(result.err, program.string() + " is set-user-ID: the dynamic loader ignores LD_PRELOAD"))
        << result.err;
    result = run({WCBROKERCTL_PATH, "exec", "--require", "--preload", PRELOAD_PATH, "--", program.string()}, nobody);
    EXPECT_EQ(result.exit_code, 3) << result.err;

    // The caller's own set-user-ID file changes nothing: no line.
    result = run({WCBROKERCTL_PATH, "exec", "--preload", PRELOAD_PATH, "--", program.string()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(result.err.empty()) << result.err;
}

} // namespace
} // namespace wcbroker::test
