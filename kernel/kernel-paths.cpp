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

std::string KernelPaths::kernel_lockdown() const
{
    return under_root("/sys/kernel/security/lockdown");
}

std::string KernelPaths::proc_cgroup(int pid) const
{
    return under_root("/proc/" + std::to_string(pid) + "/cgroup");
}

std::string KernelPaths::from_syspath(std::string_view syspath) const
{
    // libudev under umockdev already reports paths inside the fake tree.
    if (!root_.empty() && syspath.starts_with(root_))
        return std::string(syspath);
    return under_root(syspath);
}

} // namespace wcbroker
