#include "fake-host.hpp"

#include <fstream>

namespace wcbroker::test {

namespace fs = std::filesystem;

FakeHost::FakeHost(fs::path root, std::string release)
    : root_(std::move(root))
    , release_(std::move(release))
    , sysfs_(root_)
{
    sysfs_.write("proc/sys/kernel/osrelease", release_ + "\n");
    sysfs_.write("proc/cmdline", "BOOT_IMAGE=/vmlinuz-" + release_ + " root=/dev/vda1 ro intel_iommu=on\n");
    sysfs_.write("proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36\n\n");
    sysfs_.write("sys/kernel/debug/x86/pat_memtype_list", "PAT memtype list:\n");
    sysfs_.write("sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
    sysfs_.write("boot/config-" + release_, "CONFIG_X86_PAT=y\nCONFIG_IO_STRICT_DEVMEM=y\n");
    sysfs_.write("proc/iomem", "00000000-00000fff : Reserved\n");
    fs::create_directories(root_ / "sys/kernel/iommu_groups/0");
    fs::create_directories(root_ / "lib/modules" / release_ / "kernel");
}

void FakeHost::cmdline(const std::string& text) const
{
    sysfs_.write("proc/cmdline", text + "\n");
}

void FakeHost::pat_list(const std::string& text) const
{
    sysfs_.write("sys/kernel/debug/x86/pat_memtype_list", "PAT memtype list:\n" + text);
}

void FakeHost::no_pat_list() const
{
    fs::remove(root_ / "sys/kernel/debug/x86/pat_memtype_list");
}

void FakeHost::lockdown(const std::string& text) const
{
    sysfs_.write("sys/kernel/security/lockdown", text + "\n");
}

void FakeHost::iomem(const std::string& text) const
{
    sysfs_.write("proc/iomem", text);
}

void FakeHost::process(int pid, const std::string& comm, const std::string& cgroup, const std::vector<std::string>& targets) const
{
    const fs::path dir = root_ / "proc" / std::to_string(pid);
    sysfs_.write(fs::path("proc") / std::to_string(pid) / "comm", comm + "\n");
    sysfs_.write(fs::path("proc") / std::to_string(pid) / "cgroup", "0::" + cgroup + "\n");
    fs::create_directories(dir / "fd");
    int fd = 3;
    for (const std::string& target : targets)
        fs::create_symlink(target, dir / "fd" / std::to_string(fd++));
}

void FakeHost::module_file(const std::string& release, const std::string& vermagic, bool signed_module) const
{
    std::string contents("\x7f" "ELF", 4);
    contents += std::string(60, '\0');
    contents += "license=GPL";
    contents += '\0';
    contents += "vermagic=" + vermagic;
    contents += '\0';
    if (signed_module)
        contents += std::string("SIGNATURE") + "~Module signature appended~\n";
    const fs::path relative = fs::path("lib/modules") / release / "updates/dkms/wcalias.ko";
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative, std::ios::binary) << contents;
}

void FakeHost::loaded_module(const std::string& version, const std::string& taint) const
{
    sysfs_.write("sys/module/wcalias/version", version + "\n");
    sysfs_.write("sys/module/wcalias/taint", taint + "\n");
}

} // namespace wcbroker::test
