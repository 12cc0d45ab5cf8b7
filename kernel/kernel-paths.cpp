#include "kernel-paths.hpp"

namespace wcbroker {

KernelPaths::KernelPaths(std::string root)
    : root_(std::move(root))
{
    while (!root_.empty() && root_.back() == '/')
        root_.pop_back();
}

std::string KernelPaths::under_root(std::string_view absolute) const
{
    return root_ + std::string(absolute);
}

std::string KernelPaths::pci_devices_dir() const
{
    return under_root("/sys/bus/pci/devices");
}

std::string KernelPaths::pci_device(std::string_view address) const
{
    return pci_devices_dir() + "/" + std::string(address);
}

std::string KernelPaths::proc_iomem() const
{
    return under_root("/proc/iomem");
}

std::string KernelPaths::pat_memtype_list() const
{
    return under_root("/sys/kernel/debug/x86/pat_memtype_list");
}

std::string KernelPaths::wcalias_device() const
{
    return under_root("/dev/wcalias");
}

std::string KernelPaths::wcalias_module() const
{
    return under_root("/sys/module/wcalias");
}

std::string KernelPaths::sys_module(std::string_view name) const
{
    return under_root("/sys/module/" + std::string(name));
}

std::string KernelPaths::kernel_lockdown() const
{
    return under_root("/sys/kernel/security/lockdown");
}

std::string KernelPaths::proc_cgroup(int pid) const
{
    return under_root("/proc/" + std::to_string(pid) + "/cgroup");
}

std::string KernelPaths::proc_dir() const
{
    return under_root("/proc");
}

std::string KernelPaths::proc_cmdline() const
{
    return under_root("/proc/cmdline");
}

std::string KernelPaths::proc_cpuinfo() const
{
    return under_root("/proc/cpuinfo");
}

std::string KernelPaths::kernel_release() const
{
    return under_root("/proc/sys/kernel/osrelease");
}

std::string KernelPaths::boot_config(std::string_view release) const
{
    return under_root("/boot/config-" + std::string(release));
}

std::string KernelPaths::proc_config_gz() const
{
    return under_root("/proc/config.gz");
}

std::string KernelPaths::lib_modules() const
{
    return under_root("/lib/modules");
}

std::string KernelPaths::iommu_groups() const
{
    return under_root("/sys/kernel/iommu_groups");
}

std::string KernelPaths::wcalias_debug_state() const
{
    return under_root("/sys/kernel/debug/wcalias/state");
}

std::string KernelPaths::from_syspath(std::string_view syspath) const
{
    // libudev under umockdev already reports paths inside the fake tree.
    if (!root_.empty() && syspath.starts_with(root_))
        return std::string(syspath);
    return under_root(syspath);
}

} // namespace wcbroker
