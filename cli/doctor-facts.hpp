// Everything wcbrokerctl doctor looks at, read once, before any verdict:
// the platform, the devices and their BARs, who holds them, the wcalias
// module, the policy, and (when it answers) wcbrokerd's leases. Reading goes
// through the daemon's own kernel glue under a KernelPaths root; nothing
// here writes, and /dev/wcalias is opened only by root, for its VERSION
// (an empty control context, closed at once: it revokes nothing).
#pragma once

#include "device-facts.hpp"
#include "file-reading.hpp"
#include "kernel-paths.hpp"
#include "module-files.hpp"
#include "platform-facts.hpp"
#include "policy-loading.hpp"
#include "policy.hpp"
#include "sysfs-pci-reader.hpp"
#include "vfio-holders.hpp"
#include "wcalias-control.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wcbroker::cli {

struct DoctorDevice {
    std::string address;
    std::string dir; // its sysfs directory, under the root
    SysfsReadStatus status = SysfsReadStatus::Gone;
    std::string problem; // for Incomplete
    DeviceFacts facts;
    // The IOMMU group's members and their drivers ("" when unbound).
    std::vector<std::pair<std::string, std::string>> group_drivers;
};

struct WcaliasFacts {
    LoadedModule module;
    std::string modules_dir;       // lib/modules, under the root
    std::vector<ModuleFile> files; // under every release
    FileReading debug_state;       // debugfs wcalias/state (root)
    // WcaliasControl::open()'s verdict; nullopt when not asked, and why.
    std::optional<WcaliasStatus> control;
    bool write_combining_possible = false; // WCALIAS_VERSION_PAT
    std::string control_not_asked;
};

struct PolicyFacts {
    std::shared_ptr<const Policy> policy; // null when it could not be loaded
    std::string problem;                  // the first error, when null
    bool needs_root = false;              // it failed for want of permission, run by another user
};

// A live lease as wcbrokerd reports it on the bus.
struct DoctorLease {
    std::uint64_t id = 0;
    std::string address;
    std::uint32_t bar = 0;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::string access;
    std::string memtype;
    std::string mechanism;
    std::uint32_t uid = 0;
};

struct DaemonFacts {
    bool reachable = false;
    std::string why_not; // when not reachable
    std::vector<DoctorLease> leases;
};

struct DoctorFacts {
    bool root = false; // effective uid 0
    PlatformFacts platform;
    FileReading iomem;
    std::vector<DoctorDevice> devices;
    std::optional<std::uint32_t> only_bar;
    VfioFdScan vfio_fds;
    WcaliasFacts wcalias;
    PolicyFacts policy;
    DaemonFacts daemon;
};

struct DoctorScope {
    std::optional<std::string> device; // canonical; every vfio-pci device when empty
    std::optional<std::uint32_t> bar;
};

// Reads all but the daemon's view (the caller asks the bus). DEVICE names a
// device that may not exist: it is then listed with status Gone.
DoctorFacts read_doctor_facts(const KernelPaths& paths, const DoctorScope& scope, const PolicyChoice& policy, bool root);

} // namespace wcbroker::cli
