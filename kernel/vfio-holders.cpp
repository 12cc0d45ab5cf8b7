#include "vfio-holders.hpp"

#include "proc-cgroup.hpp"
#include "sysfs-files.hpp"
#include "text-scan.hpp"

#include <cerrno>
#include <climits>
#include <unistd.h>

namespace wcbroker {
namespace {

std::optional<std::string> link_target(const std::string& path)
{
    char buffer[PATH_MAX];
    const ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer - 1);
    if (n < 0)
        return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
}

// A process names itself (prctl(PR_SET_NAME)), and doctor prints the name
// on root's terminal: anything but printable ASCII becomes '?', so no
// escape sequence of another user's reaches it.
std::string printable_name(std::string name)
{
    for (char& c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte > 0x7e)
            c = '?';
    }
    return name;
}

bool is_vfio_target(const std::string& target)
{
    return vfio_group_of_target(target).has_value() || is_vfio_device_fd(target);
}

} // namespace

std::optional<unsigned> vfio_group_of_target(const std::string& target)
{
    constexpr std::string_view prefix = "/dev/vfio/";
    if (!target.starts_with(prefix))
        return std::nullopt;
    return parse_whole_number<unsigned>(std::string_view(target).substr(prefix.size()));
}

bool is_vfio_device_fd(const std::string& target)
{
    return target == "anon_inode:[vfio-device]";
}

VfioFdScan scan_vfio_fds(const KernelPaths& paths)
{
    VfioFdScan scan;
    scan.proc_dir = paths.proc_dir();
    const auto entries = list_directory(paths.proc_dir());
    if (!entries)
        return scan;
    scan.proc_readable = true;
    for (const std::string& entry : *entries) {
        const auto pid = parse_whole_number<int>(entry);
        if (!pid)
            continue;
        const std::string process = paths.proc_dir() + "/" + entry;
        const auto fds = list_directory(process + "/fd");
        if (!fds) {
            if (errno == EACCES || errno == EPERM)
                scan.unreadable.push_back(*pid);
            continue; // or the process is gone
        }
        for (const std::string& fd : *fds) {
            const std::string fd_path = process + "/fd/" + fd;
            auto target = link_target(fd_path);
            if (!target || !is_vfio_target(*target))
                continue;
            VfioFdHolder holder;
            holder.pid = *pid;
            holder.comm = printable_name(read_attribute(process + "/comm").value_or("?"));
            if (auto cgroup = read_text_file(paths.proc_cgroup(*pid), 65536))
                if (auto path = parse_proc_cgroup(*cgroup))
                    holder.unit = unit_of_cgroup(*path);
            holder.target = *target;
            holder.fd_path = fd_path;
            scan.holders.push_back(std::move(holder));
        }
    }
    return scan;
}

} // namespace wcbroker
