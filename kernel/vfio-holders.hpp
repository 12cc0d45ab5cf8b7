// Which processes hold VFIO files open, from /proc/PID/fd: a group file
// (/dev/vfio/N) names its IOMMU group; a device fd (anon_inode:[vfio-device])
// names no device at all, so it can only be counted. Reading another user's
// fd directory needs root; those pids are listed, not guessed about.
#pragma once

#include "kernel-paths.hpp"

#include <optional>
#include <string>
#include <vector>

namespace wcbroker {

struct VfioFdHolder {
    int pid = 0;
    std::string comm;                // /proc/PID/comm
    std::optional<std::string> unit; // the system manager's unit, from /proc/PID/cgroup
    std::string target;              // "/dev/vfio/5", "anon_inode:[vfio-device]"
    std::string fd_path;             // /proc/PID/fd/N, the evidence
};

struct VfioFdScan {
    std::string proc_dir;         // what was scanned
    bool proc_readable = false;   // it could be listed
    std::vector<VfioFdHolder> holders;
    std::vector<int> unreadable;  // pids whose fd directory was refused (EACCES)
};

VfioFdScan scan_vfio_fds(const KernelPaths& paths);

// "/dev/vfio/5" -> 5; nullopt for anything else (the container, device fds).
std::optional<unsigned> vfio_group_of_target(const std::string& target);
bool is_vfio_device_fd(const std::string& target);

} // namespace wcbroker
