// wcbrokerctl's offline verbs, run as a user would run them: the real
// binary, its exit codes, and what it prints on stdout and stderr.

#include "fake-sysfs.hpp"
#include "subprocess.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <sys/stat.h>

namespace wcbroker::test {
namespace {

namespace fs = std::filesystem;

const std::string wcbrokerctl = WCBROKERCTL_PATH;
const std::string examples = EXAMPLES_DIR;

CommandResult ctl(std::vector<std::string> args)
{
    args.insert(args.begin(), wcbrokerctl);
    return run_command(args);
}

class TempDir {
public:
    TempDir()
    {
        char pattern[] = "/tmp/wcbrokerctl-test-XXXXXX";
        path_ = ::mkdtemp(pattern);
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string write(const std::string& name, const std::string& text) const
    {
        fs::create_directories((path_ / name).parent_path());
        std::ofstream(path_ / name) << text;
        return (path_ / name).string();
    }
    std::string path() const { return path_.string(); }

private:
    fs::path path_;
};

TEST(CheckPolicy, EveryShippedExamplePasses)
{
    int checked = 0;
    for (const auto& entry : fs::directory_iterator(examples)) {
        if (entry.path().extension() != ".toml")
            continue;
        const CommandResult r = ctl({"check-policy", entry.path().string()});
        EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.err;
        EXPECT_EQ(r.err, "") << entry.path();
        EXPECT_NE(r.out.find("Policy: 1 file(s)"), std::string::npos) << r.out;
        ++checked;
    }
    EXPECT_GE(checked, 3);
}

TEST(CheckPolicy, InvalidPolicyExitsOneWithCompilerStyleErrorsOnStderr)
{
    TempDir dir;
    const std::string file = dir.write("policy.toml", "version = 1\nmode = \"chaos\"\n[selector.x]\nvendr = 1\n");
    const CommandResult r = ctl({"check-policy", "--policy-dir", dir.path()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err,
        file + ":2:8: error: mode: unknown mode \"chaos\"; use \"enforce\" or \"audit\"\n"
            + file + ":3:1: error: selector.x: this selector would match every device; set at least one of vendor, "
              "subsystem_vendor, class, address or iommu_group (address = \"*:*:*.*\" if every device is really meant)\n"
            + file + ":4:1: error: selector.x.vendr: unknown key 'vendr'; did you mean 'vendor'? Valid keys here: vendor, "
              "device, subsystem_vendor, subsystem_device, class, class_mask, address, iommu_group, driver, "
              "description\n"
              "3 error(s), 0 warning(s)\n"
              "Policy is invalid; wcbrokerd would keep serving its previous policy.\n");
}

TEST(CheckPolicy, JsonCarriesValidityAndDiagnostics)
{
    TempDir dir;
    dir.write("policy.toml", "version = 1\nmode = 7\n");
    const CommandResult r = ctl({"check-policy", "--json", "--policy-dir", dir.path()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("\"valid\" : false"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"line\" : 2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"column\" : 8"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"severity\" : \"error\""), std::string::npos) << r.out;
}

TEST(CheckPolicy, UnknownUserNameIsAnError)
{
    TempDir dir;
    dir.write("policy.toml", "version = 1\n[[rule]]\nname = \"r\"\ndevice = { vendor = 1 }\nbar = 0\nranges = \"all\"\n"
                             "access = \"uncached\"\nusers = [\"no-such-user-wcbroker\"]\n");
    const CommandResult r = ctl({"check-policy", "--policy-dir", dir.path()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(":8:10: error: rule[r].users: no user named 'no-such-user-wcbroker' on this host"),
        std::string::npos)
        << r.err;
}

TEST(CheckPolicy, UsageErrorsExitTwo)
{
    EXPECT_EQ(ctl({"check-policy", "--bogus"}).exit_code, 2);
    EXPECT_EQ(ctl({"check-policy", "--policy-dir", "/x", "file.toml"}).exit_code, 2);
    EXPECT_EQ(ctl({"no-such-verb"}).exit_code, 2);
    const CommandResult help = ctl({"check-policy", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("Usage: wcbrokerctl check-policy"), std::string::npos);
}

// The ENA example installed as a policy directory.
class EnaPolicy {
public:
    EnaPolicy()
    {
        std::ifstream in(examples + "/ena-llq.toml");
        std::stringstream text;
        text << in.rdbuf();
        dir_.write("policy.toml", text.str());
    }
    std::string dir() const { return dir_.path(); }

private:
    TempDir dir_;
};

TEST(Explain, AllowedRequestNamesTheRuleAndExitsZero)
{
    EnaPolicy ena;
    const CommandResult r = ctl({"explain", "--device-facts", examples + "/devices/ena.toml", "--uid", "1000", "--gid",
        "1000", "--bar", "2", "--access", "wc", "--policy-dir", ena.dir()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Decision: ALLOW"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Rule:     'ena-llq'"), std::string::npos) << r.out;
}

TEST(Explain, DeniedRequestNamesTheNearestRuleAndExitsOne)
{
    EnaPolicy ena;
    const CommandResult r = ctl({"explain", "--device-facts", examples + "/devices/ena.toml", "--uid", "1001", "--gid",
        "1001", "--bar", "2", "--offset", "0", "--length", "4KiB", "--access", "wc", "--policy-dir",
        ena.dir(), "--json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.out.find("\"allowed\" : false"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"name\" : \"ena-llq\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("uid 1001 is not among users 1000"), std::string::npos) << r.out;
}

// An ENA VF in a fake sysfs under ROOT, bound to DRIVER, in IOMMU group GROUP.
void add_fake_ena(const TempDir& root, const std::string& address, const std::string& driver, unsigned group)
{
    FakeSysfs(root.path())
        .add({.address = address,
            .vendor = 0x1d0f,
            .device = 0xec20,
            .subsystem_vendor = 0x1d0f,
            .subsystem_device = 0x0000,
            .class_code = 0x020000,
            .resource = "0x00000000febf0000 0x00000000febf3fff 0x0000000000040200\n"
                        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                        "0x00000000fe800000 0x00000000fe8fffff 0x000000000014220c\n",
            .resource_files = {"resource2", "resource2_wc"},
            .driver = driver,
            .iommu_group = group});
}

TEST(Explain, ReadsFactsFromAFakeSysfs)
{
    EnaPolicy ena;
    TempDir root;
    add_fake_ena(root, "0000:00:06.0", "vfio-pci", 6);
    const CommandResult r = ctl({"explain", "--device", "0000:00:06.0", "--sysfs-root", root.path(), "--uid", "1000",
        "--gid", "2000", "--bar", "2", "--access", "wc", "--policy-dir", ena.dir()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("write-combine on 0000:00:06.0 BAR 2 offset 0x0 length 1MiB"), std::string::npos) << r.out;
}

TEST(Explain, PolicyFilesCanBeNamedDirectly)
{
    const CommandResult r = ctl({"explain", "--device-facts", examples + "/devices/connectx.toml", "--uid", "1000",
        "--gid", "2000", "--unit", "dpdk-a.service", "--bar", "0", "--offset", "1MiB", "--length", "4KiB", "--access",
        "wc", "--policy", examples + "/mlx5-blueflame.toml"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("Rule:     'mlx5-blueflame'"), std::string::npos) << r.out;
    EXPECT_EQ(ctl({"explain", "--device-facts", "x", "--uid", "0", "--bar", "0", "--access", "uc", "--policy", "a",
                  "--policy-dir", "b"})
                  .exit_code,
        2);
}

TEST(Explain, MissingDeviceAndBadArgumentsAreClearErrors)
{
    CommandResult r = ctl({"explain", "--device", "0000:ff:1f.7", "--sysfs-root", "/nonexistent", "--uid", "0", "--bar",
        "0", "--access", "uc"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("no PCI device 0000:ff:1f.7 under /nonexistent/sys/bus/pci/devices"), std::string::npos) << r.err;

    r = ctl({"explain", "--device", "3b:00.0", "--uid", "0", "--bar", "0", "--access", "uc"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("'3b:00.0' is not a PCI address"), std::string::npos) << r.err;

    EXPECT_EQ(ctl({"explain", "--device", "0000:00:00.0", "--uid", "0", "--bar", "6", "--access", "uc"}).exit_code, 2);
    EXPECT_EQ(ctl({"explain", "--device", "0000:00:00.0", "--uid", "0", "--bar", "0", "--access", "fast"}).exit_code, 2);
    EXPECT_EQ(ctl({"explain", "--uid", "0", "--bar", "0", "--access", "uc"}).exit_code, 2);
}

TEST(AutobindRules, WritesTheRulesFileOnlyForAValidPolicy)
{
    TempDir out;
    const std::string rules = out.path() + "/60-wcbroker-autobind.rules";
    CommandResult r = ctl({"autobind-rules", "--output", rules, examples + "/ena-llq.toml"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(rules);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find(R"(ATTR{vendor}=="0x1d0f", ATTR{device}=="0x0ec2|0x1ec2|0xec20|0xec21")"),
        std::string::npos)
        << text.str();
    EXPECT_EQ(ctl({"autobind-rules", examples + "/ena-llq.toml"}).out, text.str());
    EXPECT_EQ(text.str().find("/unbind"), std::string::npos) << text.str();
    r = ctl({"autobind-rules", "--unbind-bound-drivers", examples + "/ena-llq.toml"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("driver/unbind"), std::string::npos) << r.out;

    // A broken policy writes nothing and says why.
    const std::string broken = out.write("broken.toml", "version = 1\n[[rule]]\nbar = \"two\"\n");
    const std::string untouched = out.path() + "/untouched.rules";
    r = ctl({"autobind-rules", "--output", untouched, broken});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("broken.toml:3:7: error"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(untouched));

    r = ctl({"autobind-rules", "--output", "/nonexistent/dir/x.rules", examples + "/ena-llq.toml"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("cannot create /nonexistent/dir/x.rules.tmp"), std::string::npos) << r.err;
}

TEST(Cdi, ListsTheVfioDevicesOfTheSysfsTree)
{
    TempDir root;
    add_fake_ena(root, "0000:00:06.0", "vfio-pci", 6);
    add_fake_ena(root, "0000:00:07.0", "ena", 7);
    const CommandResult r = ctl({"cdi", "--sysfs-root", root.path()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(R"("cdiVersion" : "0.5.0")"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(R"("name" : "0000:00:06.0")"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(R"("path" : "/dev/vfio/6")"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("0000:00:07.0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket"), std::string::npos);

    const std::string spec = root.path() + "/wcbroker.json";
    EXPECT_EQ(ctl({"cdi", "--sysfs-root", root.path(), "--output", spec}).exit_code, 0);
    std::ifstream in(spec);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), r.out);
    // Runtimes parse it as JSON; python's parser is as strict as theirs
    // (and always there: meson runs on it).
    const CommandResult parsed = run_command({"/usr/bin/python3", "-c", "import json, sys; json.load(open(sys.argv[1]))", spec});
    EXPECT_EQ(parsed.exit_code, 0) << parsed.err;
}

TEST(Cdi, BadArgumentsSayWhatWouldBeValid)
{
    CommandResult r = ctl({"cdi", "--kind", "vfio"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--kind vfio: a kind is VENDOR/CLASS"), std::string::npos) << r.err;
    r = ctl({"cdi", "--bus-socket", "run/dbus/socket"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("absolute path"), std::string::npos) << r.err;
    r = ctl({"cdi", "--sysfs-root", "/nonexistent"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("cannot list /nonexistent/sys/bus/pci/devices"), std::string::npos) << r.err;
}

} // namespace
} // namespace wcbroker::test
