// Every path to a kernel interface (sysfs, debugfs, procfs) hangs off one
// root directory, "/" in production, so tests and the demo can point the
// daemon at a fake tree without touching the code that reads it.
#pragma once

#include <string>
#include <string_view>

namespace wcbroker {

class KernelPaths {
public:
    explicit KernelPaths(std::string root = "/");

    const std::string& root() const { return root_; }

    // ROOT/sys/bus/pci/devices/ADDRESS
    std::string pci_device(std::string_view address) const;
    std::string pci_devices_dir() const;
    // ROOT/proc/iomem
    std::string proc_iomem() const;
    // ROOT/sys/kernel/debug/x86/pat_memtype_list
    std::string pat_memtype_list() const;
    // ROOT/dev/wcalias: the wcalias module's control device.
    std::string wcalias_device() const;
    // ROOT/sys/module/wcalias: there when the module is loaded.
    std::string wcalias_module() const;
    // ROOT/sys/module/NAME: there when module NAME is loaded (or built in).
    std::string sys_module(std::string_view name) const;
    // ROOT/sys/kernel/security/lockdown: "none [integrity] confidentiality".
    std::string kernel_lockdown() const;
    // ROOT/proc/PID/cgroup
    std::string proc_cgroup(int pid) const;
    // ROOT/proc, whose numbered directories are processes (fd/, comm, cgroup).
    std::string proc_dir() const;
    // ROOT/proc/cmdline, ROOT/proc/cpuinfo
    std::string proc_cmdline() const;
    std::string proc_cpuinfo() const;
    // ROOT/proc/sys/kernel/osrelease: the running kernel's release (uname -r).
    std::string kernel_release() const;
    // ROOT/boot/config-RELEASE and ROOT/proc/config.gz: the kernel's build configuration.
    std::string boot_config(std::string_view release) const;
    std::string proc_config_gz() const;
    // ROOT/lib/modules: one directory of modules per installed kernel release.
    std::string lib_modules() const;
    // ROOT/sys/kernel/iommu_groups: empty or absent without an IOMMU.
    std::string iommu_groups() const;
    // ROOT/sys/kernel/debug/wcalias/state: the module's contexts, claims and aliases (root).
    std::string wcalias_debug_state() const;
    // A syspath as libudev reports it ("/sys/devices/..."), under the root.
    std::string from_syspath(std::string_view syspath) const;

private:
    std::string under_root(std::string_view absolute) const;

    std::string root_; // no trailing slash; empty for "/"
};

} // namespace wcbroker
