// wcbrokerctl cdi: a CDI spec so container runtimes can give a container the
// system bus and its VFIO devices by name.

#include "atomic-file.hpp"
#include "cdi-spec.hpp"
#include "cli.hpp"
#include "kernel-paths.hpp"
#include "sysfs-files.hpp"
#include "sysfs-pci-reader.hpp"
#include "verbs.hpp"

#include <cstdio>
#include <getopt.h>
#include <sstream>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl cdi [--output FILE] [--kind KIND] [--bus-socket PATH] [--sysfs-root DIR]

Print a CDI (Container Device Interface) spec, JSON, naming one device per
PCI device bound to vfio-pci plus a device "broker". Any of them gives the
container the system bus (the socket's directory, read-only) and
DBUS_SYSTEM_BUS_ADDRESS, which is all libwcbroker needs; a PCI device also
gives its /dev/vfio group node and /dev/vfio/vfio.

  wcbrokerctl cdi --output /etc/cdi/wcbroker.json
  podman run --device wcbroker.org/vfio=0000:3b:00.0 ...

The spec lists the devices bound when it is written: write it again after
binding or unbinding devices. Whether a container may map a BAR range is
still decided by the policy, on the host uid and cgroup of its processes
(see containers.md in /usr/share/doc/wcbroker).

Options:
  --output FILE      write the spec to FILE (replaced atomically)
  --kind KIND        CDI kind (default wcbroker.org/vfio)
  --bus-socket PATH  the system bus socket (default /run/dbus/system_bus_socket)
  --sysfs-root DIR   read sysfs under DIR (for tests)
  -h, --help         show this help

Exit status: 0 written, 2 usage error, 3 sysfs or FILE unusable.
)";

// Every PCI device in sysfs, by address; one that is half set up is skipped
// with a note, as the daemon would retry it.
std::vector<DeviceFacts> read_pci_devices(const KernelPaths& paths, std::string& error)
{
    const auto addresses = list_directory(paths.pci_devices_dir());
    if (!addresses) {
        error = "cannot list " + paths.pci_devices_dir();
        return {};
    }
    std::vector<DeviceFacts> devices;
    for (const std::string& address : *addresses) {
        SysfsReadResult read = read_pci_device(paths, address);
        if (read.status == SysfsReadStatus::Ok)
            devices.push_back(std::move(read.facts));
        else if (read.status == SysfsReadStatus::Incomplete)
            std::fprintf(stderr, "wcbrokerctl cdi: %s left out: %s\n", address.c_str(), read.problem.c_str());
    }
    return devices;
}

} // namespace

int run_cdi(int argc, char** argv)
{
    CdiOptions cdi;
    std::optional<std::string> output;
    std::string sysfs_root = "/";
    static const struct option options[] = {
        {"output", required_argument, nullptr, 'o'},
        {"kind", required_argument, nullptr, 'k'},
        {"bus-socket", required_argument, nullptr, 'b'},
        {"sysfs-root", required_argument, nullptr, 's'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    int option;
    while ((option = ::getopt_long(argc, argv, "h", options, nullptr)) != -1) {
        switch (option) {
        case 'o':
            output = optarg;
            break;
        case 'k':
            cdi.kind = optarg;
            break;
        case 'b':
            cdi.bus_socket = optarg;
            break;
        case 's':
            sysfs_root = optarg;
            break;
        case 'h':
            std::fputs(help_text, stdout);
            return exit_ok;
        default:
            return usage_error("cdi", "unknown option");
        }
    }
    if (optind != argc)
        return usage_error("cdi", "takes no arguments");
    if (const std::string problem = cdi_kind_problem(cdi.kind); !problem.empty())
        return usage_error("cdi", "--kind " + cdi.kind + ": " + problem);
    if (cdi.bus_socket.empty() || cdi.bus_socket.front() != '/' || cdi.bus_socket == "/")
        return usage_error("cdi", "--bus-socket wants the absolute path of a socket, e.g. /run/dbus/system_bus_socket");

    std::string error;
    const std::vector<DeviceFacts> devices = read_pci_devices(KernelPaths(sysfs_root), error);
    if (!error.empty())
        return failure("cdi", error);

    const toml::table spec = make_cdi_spec(devices, cdi);
    if (!output) {
        print_json(spec);
        return exit_ok;
    }
    std::ostringstream text;
    text << toml::json_formatter(spec) << "\n";
    error = write_file_atomically(*output, text.str(), 0644);
    if (!error.empty())
        return failure("cdi", error);
    return exit_ok;
}

} // namespace wcbroker::cli
