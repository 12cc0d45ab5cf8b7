// libudev glue: a netlink monitor for the pci and vfio subsystems, and the
// cold-plug enumeration of PCI devices. Reports what happened; what it
// means is DeviceTracker's business.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct udev;
struct udev_monitor;

namespace wcbroker {

enum class UdevSource {
    Auto,   // "udev" when udevd runs (its control socket exists), else "kernel"
    Udev,   // events after udevd's rules ran: devices are set up when they arrive
    Kernel, // raw kernel uevents: for containers and hosts without udevd
};

std::optional<UdevSource> parse_udev_source(std::string_view text);
std::string_view udev_source_name(UdevSource source);

struct UdevEvent {
    std::string action;    // add, remove, bind, unbind, change, ...
    std::string subsystem; // pci or vfio
    std::string sysname;   // "0000:01:00.0", or the IOMMU group number for vfio
};

// The netlink socket's receive buffer: what the monitor asked for, and what
// the kernel granted (getsockopt(SO_RCVBUF), which counts the kernel's
// bookkeeping too, so twice the size set). Beyond net.core.rmem_max only
// SO_RCVBUFFORCE helps, and it needs CAP_NET_ADMIN, which the unit does not
// grant: it would let a compromised daemon reconfigure the host's network.
struct ReceiveBuffer {
    int requested_bytes = 0;
    int granted_bytes = 0;
    int error = 0; // the errno setting the size reported, 0 if none
};

// Measured (docs/kernel-mechanisms.md): one PCI-sized kernel uevent of
// about 500 bytes costs about 1280 bytes of receive buffer.
constexpr int uevent_buffer_cost_bytes = 1280;

// The line to log when the monitor got less than it asked for: how many
// uevents fit, and what happens past that. nullopt when it got it all.
std::optional<std::string> receive_buffer_warning(const ReceiveBuffer& buffer);

class UdevMonitor {
public:
    explicit UdevMonitor(UdevSource source, const std::string& udev_control_socket = "/run/udev/control");
    ~UdevMonitor();
    UdevMonitor(const UdevMonitor&) = delete;
    UdevMonitor& operator=(const UdevMonitor&) = delete;

    UdevSource source() const { return source_; }
    int fd() const;
    const ReceiveBuffer& receive_buffer() const { return receive_buffer_; }

    struct Received {
        std::vector<UdevEvent> events;
        // The kernel dropped events because the socket buffer was full;
        // whatever they said must be re-read from sysfs.
        bool overflowed = false;
    };
    Received receive();

    // sysnames of the PCI devices present now.
    std::vector<std::string> enumerate_pci() const;

private:
    struct udev* udev_ = nullptr;
    struct udev_monitor* monitor_ = nullptr;
    UdevSource source_;
    ReceiveBuffer receive_buffer_;
};

} // namespace wcbroker
