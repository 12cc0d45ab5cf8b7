#include "udev-monitor.hpp"

#include "log.hpp"
#include "sysfs-files.hpp"

#include <cerrno>
#include <cstring>
#include <libudev.h>
#include <stdexcept>
#include <sys/socket.h>

namespace wcbroker {
namespace {

// Enough for a storm of thousands of devices binding at once (udevd uses the same).
constexpr int receive_buffer_bytes = 128 * 1024 * 1024;

std::string safe(const char* text)
{
    return text == nullptr ? std::string() : std::string(text);
}

} // namespace

std::optional<std::string> receive_buffer_warning(const ReceiveBuffer& buffer)
{
    if (buffer.granted_bytes >= buffer.requested_bytes)
        return std::nullopt;
    std::string text = "uevent receive buffer: asked for " + std::to_string(buffer.requested_bytes >> 20)
        + " MiB, got " + std::to_string(buffer.granted_bytes >> 10) + " KiB";
    if (buffer.error != 0)
        text += std::string(" (") + std::strerror(buffer.error) + ")";
    text += "; more needs CAP_NET_ADMIN, which the unit does not grant, or a larger net.core.rmem_max. About "
        + std::to_string(buffer.granted_bytes / uevent_buffer_cost_bytes)
        + " uevents fit: a larger burst while the daemon is busy overflows, and every PCI device is then "
          "re-read from sysfs (correct, only slower)";
    return text;
}

std::optional<UdevSource> parse_udev_source(std::string_view text)
{
    if (text == "auto")
        return UdevSource::Auto;
    if (text == "udev")
        return UdevSource::Udev;
    if (text == "kernel")
        return UdevSource::Kernel;
    return std::nullopt;
}

std::string_view udev_source_name(UdevSource source)
{
    switch (source) {
    case UdevSource::Auto:
        return "auto";
    case UdevSource::Udev:
        return "udev";
    case UdevSource::Kernel:
        return "kernel";
    }
    return "auto";
}

UdevMonitor::UdevMonitor(UdevSource source, const std::string& udev_control_socket)
    : source_(source)
{
    if (source_ == UdevSource::Auto)
        source_ = path_exists(udev_control_socket) ? UdevSource::Udev : UdevSource::Kernel;
    udev_ = udev_new();
    if (udev_ == nullptr)
        throw std::runtime_error("udev_new failed");
    monitor_ = udev_monitor_new_from_netlink(udev_, std::string(udev_source_name(source_)).c_str());
    if (monitor_ == nullptr) {
        udev_unref(udev_);
        throw std::runtime_error("cannot open the " + std::string(udev_source_name(source_)) + " uevent netlink socket");
    }
    udev_monitor_filter_add_match_subsystem_devtype(monitor_, "pci", nullptr);
    udev_monitor_filter_add_match_subsystem_devtype(monitor_, "vfio", nullptr);
    receive_buffer_.requested_bytes = receive_buffer_bytes;
    if (int r = udev_monitor_set_receive_buffer_size(monitor_, receive_buffer_bytes); r < 0)
        receive_buffer_.error = -r;
    socklen_t length = sizeof receive_buffer_.granted_bytes;
    if (::getsockopt(udev_monitor_get_fd(monitor_), SOL_SOCKET, SO_RCVBUF, &receive_buffer_.granted_bytes, &length) != 0)
        receive_buffer_.granted_bytes = 0;
    if (auto warning = receive_buffer_warning(receive_buffer_))
        log_warning(*warning);
    if (int r = udev_monitor_enable_receiving(monitor_); r < 0) {
        udev_monitor_unref(monitor_);
        udev_unref(udev_);
        throw std::runtime_error(std::string("cannot receive uevents: ") + std::strerror(-r));
    }
}

UdevMonitor::~UdevMonitor()
{
    udev_monitor_unref(monitor_);
    udev_unref(udev_);
}

int UdevMonitor::fd() const
{
    return udev_monitor_get_fd(monitor_);
}

UdevMonitor::Received UdevMonitor::receive()
{
    Received received;
    for (;;) {
        errno = 0;
        struct udev_device* device = udev_monitor_receive_device(monitor_);
        if (device == nullptr) {
            if (errno == ENOBUFS)
                received.overflowed = true;
            // EAGAIN: drained. Anything else (a malformed message) is skipped
            // by libudev itself; stop for now and wait for the next wakeup.
            if (errno == ENOBUFS || errno == EINTR)
                continue;
            break;
        }
        received.events.push_back({safe(udev_device_get_action(device)), safe(udev_device_get_subsystem(device)),
            safe(udev_device_get_sysname(device))});
        udev_device_unref(device);
    }
    return received;
}

std::vector<std::string> UdevMonitor::enumerate_pci() const
{
    std::vector<std::string> names;
    struct udev_enumerate* enumerate = udev_enumerate_new(udev_);
    if (enumerate == nullptr)
        return names;
    udev_enumerate_add_match_subsystem(enumerate, "pci");
    udev_enumerate_scan_devices(enumerate);
    for (auto* entry = udev_enumerate_get_list_entry(enumerate); entry != nullptr; entry = udev_list_entry_get_next(entry)) {
        std::string syspath = udev_list_entry_get_name(entry);
        names.push_back(syspath.substr(syspath.rfind('/') + 1));
    }
    udev_enumerate_unref(enumerate);
    return names;
}

} // namespace wcbroker
