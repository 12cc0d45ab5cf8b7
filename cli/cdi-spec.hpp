// A CDI (Container Device Interface) spec for wcbroker clients in
// containers: every injected device brings the system bus socket and the
// environment libwcbroker needs; each VFIO device also brings its group's
// device node. The runtime (podman, containerd, CRI-O) injects them by name:
// --device wcbroker.org/vfio=0000:3b:00.0.
#pragma once

#include "device-facts.hpp"

#include <string>
#include <toml++/toml.h>
#include <vector>

namespace wcbroker::cli {

// The spec version whose features we use (deviceNodes, mounts, env, device
// names that start with a digit), and no newer: Debian 12's podman reads
// specs up to 0.5.0.
inline constexpr const char* cdi_version = "0.5.0";
inline constexpr const char* cdi_default_kind = "wcbroker.org/vfio";
// A device that brings only the bus: for containers that run wcbrokerctl
// or hold leases without doing VFIO themselves.
inline constexpr const char* cdi_broker_device = "broker";

struct CdiOptions {
    std::string kind = cdi_default_kind;
    std::string bus_socket = "/run/dbus/system_bus_socket"; // on the host, the same path inside
};

// Devices bound to vfio-pci with an IOMMU group become CDI devices named by
// their PCI address; the others are ignored.
toml::table make_cdi_spec(const std::vector<DeviceFacts>& devices, const CdiOptions& options);

// Whether KIND has the "vendor.domain/class" form CDI requires; if not,
// what is wrong.
std::string cdi_kind_problem(std::string_view kind);

} // namespace wcbroker::cli
