#include "bus-credentials.hpp"

#include "proc-cgroup.hpp"
#include "sdbus-compat.hpp"
#include "sysfs-files.hpp"
#include "unique-fd.hpp"

#include <cerrno>
#include <csignal>
#include <sys/syscall.h>
#include <unistd.h>

namespace wcbroker {
namespace {

// The pid a pidfd refers to, from the "Pid:" line of its fdinfo (-1 once
// the process has been reaped).
std::optional<pid_t> pid_of_pidfd(int fd)
{
    auto text = read_text_file("/proc/self/fdinfo/" + std::to_string(fd), 4096);
    if (!text)
        return std::nullopt;
    const auto at = text->find("\nPid:");
    if (at == std::string::npos)
        return std::nullopt;
    try {
        return static_cast<pid_t>(std::stol(text->substr(at + 5)));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// Signal 0 checks existence only; EPERM (no CAP_KILL over another uid)
// still means the process is there.
bool pidfd_process_alive(int fd)
{
    return ::syscall(SYS_pidfd_send_signal, fd, 0, nullptr, 0) == 0 || errno != ESRCH;
}

} // namespace

BusCredentials::BusCredentials(sdbus::IConnection& connection, KernelPaths paths,
    std::function<void(const std::string&)> on_disconnect)
    : paths_(std::move(paths))
    , bus_(sdbus_compat::make_proxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus"))
    , on_disconnect_(std::move(on_disconnect))
{
    // sd-bus lets a unique-name sender satisfy sender='org.freedesktop.DBus'
    // in a match, and any client may send a unicast NameOwnerChanged to the
    // daemon: the handler itself checks that the bus driver sent it. The
    // bus sets the sender field; clients cannot forge it.
    owner_changes_ = sdbus_compat::add_match(connection, "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                         "interface='org.freedesktop.DBus',member='NameOwnerChanged'",
        [this](sdbus::Message& message) { on_bus_signal(message); });
}

void BusCredentials::on_bus_signal(sdbus::Message& message)
{
    if (!sent_by_bus_driver(message))
        return;
    std::string name, old_owner, new_owner;
    try {
        message >> name >> old_owner >> new_owner;
    } catch (const std::exception&) {
        return; // the bus driver never sends this; nothing to act on
    }
    name_owner_changed(name, old_owner, new_owner);
}

void BusCredentials::name_owner_changed(const std::string& name, const std::string&, const std::string& new_owner)
{
    // Only a unique name losing its owner means a connection closed.
    if (name.empty() || name.front() != ':' || !new_owner.empty())
        return;
    cache_.erase(name);
    on_disconnect_(name);
}

std::string BusCredentials::bus_id()
{
    std::string id;
    bus_->callMethod("GetId").onInterface("org.freedesktop.DBus").storeResultsTo(id);
    return id;
}

Caller BusCredentials::caller(const std::string& unique_name)
{
    if (auto cached = cache_.find(unique_name); cached != cache_.end())
        return cached->second;

    std::map<std::string, sdbus::Variant> credentials;
    bus_->callMethod("GetConnectionCredentials")
        .onInterface("org.freedesktop.DBus")
        .withArguments(unique_name)
        .storeResultsTo(credentials);

    Caller caller;
    caller.bus_name = unique_name;
    auto uid = credentials.find("UnixUserID");
    if (uid == credentials.end())
        throw sdbus_compat::make_error("org.wcbroker.Error.AccessDenied", "the bus recorded no user id for " + unique_name);
    caller.identity.uid = uid->second.get<std::uint32_t>();
    if (auto gids = credentials.find("UnixGroupIDs"); gids != credentials.end())
        caller.identity.gids = gids->second.get<std::vector<std::uint32_t>>();
    if (auto pid = credentials.find("ProcessID"); pid != credentials.end())
        caller.identity.pid = static_cast<pid_t>(pid->second.get<std::uint32_t>());
    // dbus-daemon 1.15.x and later also pass a pidfd of the peer, which
    // names the process itself rather than a number that can be reused.
    UniqueFd pidfd;
    if (auto fd = credentials.find("ProcessFD"); fd != credentials.end() && fd->second.containsValueOfType<sdbus::UnixFd>())
        pidfd = UniqueFd(fd->second.get<sdbus::UnixFd>().release());
    if (pidfd.valid()) {
        if (auto pid = pid_of_pidfd(pidfd.get()); pid && *pid > 0)
            caller.identity.pid = *pid;
    }
    if (caller.identity.pid > 0) {
        auto text = read_text_file(paths_.proc_cgroup(caller.identity.pid), 65536);
        // Read by pid, then confirmed through the pidfd: if the process
        // has exited since, the pid may name another one, and what was
        // read is not the caller's. Without a pidfd this race remains
        // (docs/security.md); units and cgroups only narrow rules.
        if (text && (!pidfd.valid() || pidfd_process_alive(pidfd.get()))) {
            caller.identity.cgroup = parse_proc_cgroup(*text);
            if (caller.identity.cgroup)
                caller.identity.systemd_unit = unit_of_cgroup(*caller.identity.cgroup);
        }
    }
    cache_.emplace(unique_name, caller);
    return caller;
}

} // namespace wcbroker
