// wcbrokerctl doctor's pure layer: the parsers of platform and module files,
// and verdicts drawn from facts built by hand, for the states a fake tree
// cannot show to a root test (a file only root may read).

#include "doctor-checks.hpp"
#include "module-files.hpp"
#include "platform-facts.hpp"
#include "vfio-holders.hpp"

#include <algorithm>
#include <cerrno>
#include <gtest/gtest.h>

namespace wcbroker::cli {
namespace {

TEST(PlatformParsers, LockdownWordCommandLineAndConfig)
{
    EXPECT_EQ(selected_lockdown_mode("none [integrity] confidentiality"), "integrity");
    EXPECT_EQ(selected_lockdown_mode("[none] integrity confidentiality"), "none");
    EXPECT_EQ(selected_lockdown_mode("none integrity"), std::nullopt);
    EXPECT_TRUE(has_word("root=/dev/vda1 nopat quiet", "nopat"));
    EXPECT_FALSE(has_word("root=/dev/vda1 nopatience", "nopat"));
    EXPECT_TRUE(has_word(" fpu pat pse36", "pat"));
    EXPECT_EQ(kernel_config_value("CONFIG_A=y\nCONFIG_IO_STRICT_DEVMEM=y\n", "CONFIG_IO_STRICT_DEVMEM"), "y");
    EXPECT_EQ(kernel_config_value("# CONFIG_IO_STRICT_DEVMEM is not set\n", "CONFIG_IO_STRICT_DEVMEM"), "n");
    EXPECT_EQ(kernel_config_value("CONFIG_IO_STRICT_DEVMEMX=y\n", "CONFIG_IO_STRICT_DEVMEM"), std::nullopt);
}

TEST(ModuleFiles, VermagicIsAModinfoStringAndTheSignatureMarkerEndsTheFile)
{
    using namespace std::string_literals;
    const std::string ko = "\x7f" "ELF\0\0xvermagic=no\0license=GPL\0vermagic=6.1.0-31-cloud-amd64 SMP mod_unload \0"s;
    EXPECT_EQ(module_vermagic(ko), "6.1.0-31-cloud-amd64 SMP mod_unload ");
    EXPECT_EQ(vermagic_release(*module_vermagic(ko)), "6.1.0-31-cloud-amd64");
    EXPECT_EQ(module_vermagic("license=GPL\0"s), std::nullopt);
    EXPECT_FALSE(module_signature_appended(ko));
    EXPECT_TRUE(module_signature_appended(ko + "sig~Module signature appended~\n"));
}

TEST(VfioHolders, OnlyGroupFilesNameAGroup)
{
    EXPECT_EQ(vfio_group_of_target("/dev/vfio/12"), 12u);
    EXPECT_EQ(vfio_group_of_target("/dev/vfio/vfio"), std::nullopt);
    EXPECT_EQ(vfio_group_of_target("/dev/vfio/devices/vfio0"), std::nullopt);
    EXPECT_TRUE(is_vfio_device_fd("anon_inode:[vfio-device]"));
    EXPECT_FALSE(is_vfio_device_fd("anon_inode:[eventfd]"));
}

FileReading readable(const std::string& path, const std::string& text)
{
    return FileReading{path, text, 0};
}

FileReading refused(const std::string& path, int error = EACCES)
{
    return FileReading{path, std::nullopt, error};
}

// A host as an unprivileged user sees it: debugfs refused, /proc/iomem without addresses.
DoctorFacts unprivileged_host()
{
    DoctorFacts facts;
    facts.platform.release = readable("/proc/sys/kernel/osrelease", "7.3.4+deb13-cloud-amd64");
    facts.platform.cmdline = readable("/proc/cmdline", "root=/dev/vda1");
    facts.platform.cpu_flags = readable("/proc/cpuinfo", " fpu pat");
    facts.platform.pat_list = refused("/sys/kernel/debug/x86/pat_memtype_list");
    facts.platform.lockdown = readable("/sys/kernel/security/lockdown", "[none] integrity confidentiality");
    facts.platform.securityfs = true;
    facts.platform.config = refused("/boot/config-7.3.4+deb13-cloud-amd64", ENOENT);
    facts.platform.iommu_groups = readable("/sys/kernel/iommu_groups", "0\n1\n");
    facts.iomem = readable("/proc/iomem", "00000000-00000000 : PCI Bus 0000:00\n  00000000-00000000 : 0000:00:03.0\n");
    facts.vfio_fds.proc_readable = true;
    facts.vfio_fds.proc_dir = "/proc";
    facts.vfio_fds.unreadable = {1, 200};
    facts.wcalias.debug_state = refused("/sys/kernel/debug/wcalias/state");
    facts.wcalias.module.version = refused("/sys/module/wcalias/version", ENOENT);
    facts.policy.problem = "/run/wcbroker/policy.d: cannot list: Permission denied";
    facts.policy.needs_root = true;
    DoctorDevice device;
    device.address = "0000:00:03.0";
    device.dir = "/sys/bus/pci/devices/0000:00:03.0";
    device.status = SysfsReadStatus::Ok;
    device.facts.address = device.address;
    device.facts.driver = "vfio-pci";
    device.facts.iommu_group = 1;
    device.facts.bars.push_back(BarFacts{.index = 2, .start = 0xfea00000, .size = 0x100000, .flags = 0x14220c,
        .kind = BarKind::Memory64, .prefetchable = true, .has_uc_file = true, .has_wc_file = true});
    facts.devices.push_back(device);
    facts.daemon.why_not = "org.freedesktop.DBus.Error.ServiceUnknown: not running";
    return facts;
}

const DoctorCheck& find(const DoctorReport& report, const std::string& id)
{
    for (const DoctorCheck& check : report.checks)
        if (check.id == id)
            return check;
    static const DoctorCheck none = [] {
        DoctorCheck check;
        check.id = "(missing)";
        return check;
    }();
    ADD_FAILURE() << "no check " << id;
    return none;
}

TEST(DoctorChecks, RootOnlyFactsAreUnknownListedAndNeverFailures)
{
    const DoctorReport report = run_doctor_checks(unprivileged_host());
    EXPECT_TRUE(report.healthy());
    EXPECT_EQ(find(report, "platform.pat").verdict, Verdict::Unknown);
    EXPECT_NE(find(report, "platform.pat").value.find("needs root (Permission denied); /proc/cpuinfo flags: pat"),
        std::string::npos);
    EXPECT_EQ(find(report, "holders.iomem").verdict, Verdict::Unknown);
    EXPECT_EQ(find(report, "holders.vfio").verdict, Verdict::Unknown);
    EXPECT_NE(find(report, "holders.vfio").value.find("2 processes' fds unreadable: needs root"), std::string::npos);
    EXPECT_EQ(find(report, "kernel.pat-overlap").verdict, Verdict::Unknown);
    EXPECT_EQ(find(report, "policy.load").verdict, Verdict::Unknown);
    EXPECT_EQ(find(report, "leases.memtype").verdict, Verdict::Unknown);
    EXPECT_NE(find(report, "leases.memtype").value.find("ServiceUnknown"), std::string::npos);
    EXPECT_EQ(find(report, "platform.kernel").finding, "7.x: vfio-pci claims every BAR when a VFIO user opens the device");
    const auto not_run = report.not_run_without_root();
    for (const char* id : {"platform.pat", "policy.load", "holders.iomem@0000:00:03.0/2", "holders.vfio@0000:00:03.0/2",
             "kernel.pat-overlap@0000:00:03.0/2"})
        EXPECT_NE(std::find(not_run.begin(), not_run.end(), id), not_run.end()) << id;
    // The daemon's absence is not a root matter.
    EXPECT_EQ(std::find(not_run.begin(), not_run.end(), "leases.memtype@0000:00:03.0/2"), not_run.end());
}

TEST(DoctorChecks, ALeaseThatIsNotWriteCombiningIsAWarning)
{
    DoctorFacts facts = unprivileged_host();
    facts.daemon.reachable = true;
    facts.daemon.leases.push_back(DoctorLease{.id = 7, .address = "0000:00:03.0", .bar = 2, .offset = 0x1000,
        .length = 0x1000, .access = "write-combine", .memtype = "uncached-minus", .mechanism = "sysfs-wc", .uid = 1000});
    const DoctorReport report = run_doctor_checks(facts);
    EXPECT_EQ(find(report, "leases.memtype").verdict, Verdict::Warn);
    EXPECT_NE(find(report, "leases.memtype").value.find("lease 7 uid 1000 write-combine"), std::string::npos);
    EXPECT_NE(find(report, "leases.memtype").remedy.find("require_verified_wc"), std::string::npos);
}

} // namespace
} // namespace wcbroker::cli
