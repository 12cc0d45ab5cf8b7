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
    // ROOT/sys/kernel/security/lockdown: "none [integrity] confidentiality".
    std::string kernel_lockdown() const;
    // ROOT/proc/PID/cgroup
    std::string proc_cgroup(int pid) const;
    // A syspath as libudev reports it ("/sys/devices/..."), under the root.
    std::string from_syspath(std::string_view syspath) const;

private:
    std::string under_root(std::string_view absolute) const;

    std::string root_; // no trailing slash; empty for "/"
};

} // namespace wcbroker
