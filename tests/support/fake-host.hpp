// The rest of a machine around a FakeSysfs, for wcbrokerctl doctor: procfs
// (kernel release, command line, cpuinfo, iomem, processes with their fds
// and cgroups), debugfs (the PAT memtype list, wcalias state), securityfs
// lockdown, /boot/config-RELEASE, /lib/modules and /sys/module. Each setter
// writes one file, so a test states only the fact it is about; free of gtest.
#pragma once

#include "fake-sysfs.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace wcbroker::test {

class FakeHost {
public:
    // A healthy x86 host running RELEASE: PAT on (an empty memtype list),
    // no lockdown, an IOMMU, CONFIG_IO_STRICT_DEVMEM=y.
    FakeHost(std::filesystem::path root, std::string release = "6.1.0-31-cloud-amd64");

    const FakeSysfs& sysfs() const { return sysfs_; }
    const std::string& release() const { return release_; }

    void cmdline(const std::string& text) const;
    void pat_list(const std::string& text) const;
    void no_pat_list() const; // debugfs mounted, the list absent: PAT off
    void lockdown(const std::string& text) const;
    void iomem(const std::string& text) const;
    // Process PID named COMM in CGROUP with fd N linking to each TARGET.
    void process(int pid, const std::string& comm, const std::string& cgroup, const std::vector<std::string>& targets) const;
    // lib/modules/RELEASE/updates/dkms/wcalias.ko with VERMAGIC in its .modinfo strings.
    void module_file(const std::string& release, const std::string& vermagic, bool signed_module = false) const;
    // /sys/module/wcalias with VERSION and TAINT.
    void loaded_module(const std::string& version, const std::string& taint) const;

private:
    std::filesystem::path root_;
    std::string release_;
    FakeSysfs sysfs_;
};

} // namespace wcbroker::test
