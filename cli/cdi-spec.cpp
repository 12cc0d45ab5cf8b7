#include "cdi-spec.hpp"

#include <cctype>

namespace wcbroker::cli {
namespace {

bool is_alphanumeric(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

std::string directory_of(const std::string& path)
{
    const auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

toml::table device_node(const std::string& path)
{
    return toml::table{{"path", path}};
}

} // namespace

std::string cdi_kind_problem(std::string_view kind)
{
    const auto slash = kind.find('/');
    if (slash == std::string_view::npos || slash == 0)
        return "a kind is VENDOR/CLASS with a DNS domain as VENDOR, e.g. wcbroker.org/vfio";
    const std::string_view vendor = kind.substr(0, slash);
    const std::string_view name = kind.substr(slash + 1);
    for (char c : vendor) {
        if (!is_alphanumeric(c) && c != '.' && c != '-')
            return "the vendor part \"" + std::string(vendor) + "\" must be a DNS domain (letters, digits, '.', '-')";
    }
    if (name.empty() || name.size() > 63 || !is_alphanumeric(name.front()) || !is_alphanumeric(name.back()))
        return "the class part after '/' must be 1 to 63 characters, starting and ending with a letter or digit";
    for (char c : name) {
        if (!is_alphanumeric(c) && c != '-' && c != '_')
            return "the class part \"" + std::string(name) + "\" may hold only letters, digits, '-' and '_'";
    }
    return {};
}

toml::table make_cdi_spec(const std::vector<DeviceFacts>& devices, const CdiOptions& options)
{
    // The socket's directory, not the socket: a bind mount of the socket
    // itself would keep pointing at the old one after dbus restarts.
    // Connecting needs no write access to the mount, so it is read-only.
    const std::string bus_directory = directory_of(options.bus_socket);
    auto bus_edits = [&] {
        toml::array mounts;
        mounts.push_back(toml::table{
            {"hostPath", bus_directory},
            {"containerPath", bus_directory},
            {"options", toml::array{"bind", "ro", "nosuid", "nodev", "noexec"}},
        });
        return toml::table{
            {"env", toml::array{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + options.bus_socket}},
            {"mounts", std::move(mounts)},
        };
    };

    // CDI refuses a device without edits of its own, so the broker device
    // repeats the spec-wide ones; runtimes merge mounts and variables by
    // path and name.
    toml::array cdi_devices;
    cdi_devices.push_back(toml::table{{"name", cdi_broker_device}, {"containerEdits", bus_edits()}});
    for (const DeviceFacts& device : devices) {
        if (device.driver != "vfio-pci" || !device.iommu_group)
            continue;
        // The group node, and the VFIO container node every group needs.
        toml::array nodes;
        nodes.push_back(device_node("/dev/vfio/vfio"));
        nodes.push_back(device_node("/dev/vfio/" + std::to_string(*device.iommu_group)));
        cdi_devices.push_back(toml::table{
            {"name", device.address},
            {"containerEdits", toml::table{{"deviceNodes", std::move(nodes)}}},
        });
    }

    return toml::table{
        {"cdiVersion", cdi_version},
        {"kind", options.kind},
        {"devices", std::move(cdi_devices)},
        {"containerEdits", bus_edits()},
    };
}

} // namespace wcbroker::cli
