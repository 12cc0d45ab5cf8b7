#include "lease-persistence.hpp"

#include "atomic-file.hpp"
#include "log.hpp"
#include "sysfs-files.hpp"
#include "text-scan.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

namespace wcbroker {
namespace {

constexpr std::string_view record_suffix = ".lease";
constexpr std::string_view fd_name_prefix = "lease-";
constexpr std::string_view wcalias_control_fd_name = "wcalias-control";
// A record is a few hundred bytes; anything much larger is not one.
constexpr std::size_t max_record_size = 64 << 10;

std::string fd_name(std::uint64_t id)
{
    return std::string(fd_name_prefix) + std::to_string(id);
}

std::optional<std::uint64_t> id_from(std::string_view text)
{
    const auto id = parse_whole_number<std::uint64_t>(text);
    return id == 0 ? std::nullopt : id;
}

bool make_directories(const std::string& path)
{
    for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
        const std::string prefix = path.substr(0, slash);
        if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
            return false;
        if (slash == std::string::npos)
            return true;
    }
}

void remove_from_fd_store(std::string_view name)
{
    const std::string state = "FDSTOREREMOVE=1\nFDNAME=" + std::string(name);
    sd_notify(0, state.c_str());
}

} // namespace

LeaseStateKeeper::LeaseStateKeeper(std::string directory, std::string bus_id, bool use_fd_store)
    : directory_(std::move(directory))
    , bus_id_(std::move(bus_id))
    , use_fd_store_(use_fd_store)
{
    if (!make_directories(directory_)) {
        log_error("cannot create " + directory_ + " (" + std::strerror(errno)
            + "): leases will not survive a restart of wcbrokerd");
        return;
    }
    // Held for the daemon's lifetime, and let go by the kernel when it
    // dies, however it dies. A second daemon (on another bus, say) must
    // not take this one's records for those of a predecessor and drop them.
    lock_ = UniqueFd(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (lock_.valid() && ::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        in_use_ = true;
}

std::string LeaseStateKeeper::path_of(std::uint64_t id) const
{
    return directory_ + "/" + std::to_string(id) + std::string(record_suffix);
}

void LeaseStateKeeper::lease_granted(const Lease& lease)
{
    // Written whole or not at all: a crash mid-write leaves the old record
    // (or none) and a stray temporary, never half a record.
    const std::string failure = write_file_atomically(path_of(lease.id), format_lease_record(lease, bus_id_), 0600);
    if (!failure.empty() && !warned_) {
        log_error(failure + ": leases granted now will not survive a restart of wcbrokerd");
        warned_ = true;
    }
    if (use_fd_store_ && lease.fd.valid()) {
        const int fd = lease.fd.get();
        // FDPOLL=0: without it systemd 252 kept none of these fds (the
        // systemd VM test shows it); the daemon removes each one itself
        // when its lease ends, so no hang-up watch is needed.
        const std::string state = "FDSTORE=1\nFDPOLL=0\nFDNAME=" + fd_name(lease.id);
        const int r = sd_pid_notify_with_fds(0, 0, state.c_str(), &fd, 1);
        if (r <= 0)
            log_warning("cannot put lease " + std::to_string(lease.id) + "'s fd in the service manager's fd store ("
                + (r < 0 ? std::strerror(-r) : "no service manager") + ")");
    }
}

void LeaseStateKeeper::lease_ended(std::uint64_t id)
{
    ::unlink(path_of(id).c_str());
    if (use_fd_store_)
        remove_from_fd_store(fd_name(id));
}

std::vector<LeaseStateKeeper::Found> LeaseStateKeeper::load() const
{
    std::vector<Found> found;
    for (const std::string& name : list_directory(directory_).value_or(std::vector<std::string>{})) {
        if (name.ends_with(".tmp")) {
            ::unlink((directory_ + "/" + name).c_str()); // a write cut short by a crash
            continue;
        }
        if (!name.ends_with(record_suffix))
            continue;
        const std::string path = directory_ + "/" + name;
        const auto id = id_from(std::string_view(name).substr(0, name.size() - record_suffix.size()));
        auto text = read_text_file(path, max_record_size);
        if (!text) {
            found.push_back({path, id, "cannot be read"});
            continue;
        }
        auto parsed = parse_lease_record(*text);
        if (auto* record = std::get_if<LeaseRecord>(&parsed); record != nullptr && id != record->lease.id)
            parsed = "its file name does not match its id=" + std::to_string(record->lease.id);
        found.push_back({path, id, std::move(parsed)});
    }
    return found;
}

void LeaseStateKeeper::discard(const Found& found)
{
    ::unlink(found.file.c_str());
    if (found.id)
        lease_ended(*found.id);
}

void LeaseStateKeeper::store_wcalias_control(int fd)
{
    // FDPOLL=0 as for leases: the daemon decides when it goes.
    const std::string state = "FDSTORE=1\nFDPOLL=0\nFDNAME=" + std::string(wcalias_control_fd_name);
    const int r = sd_pid_notify_with_fds(0, 0, state.c_str(), &fd, 1);
    if (r <= 0)
        log_warning(std::string("cannot put the wcalias control fd in the service manager's fd store (")
            + (r < 0 ? std::strerror(-r) : "no service manager")
            + "): a restart of wcbrokerd will revoke every wcalias lease");
}

LeaseStateKeeper::StoredFds LeaseStateKeeper::take_stored_fds()
{
    StoredFds stored;
    std::map<std::uint64_t, UniqueFd>& fds = stored.leases;
    char** names = nullptr;
    const int count = sd_listen_fds_with_names(1, &names);
    for (int i = 0; i < count; ++i) {
        UniqueFd fd(SD_LISTEN_FDS_START + i);
        const std::string_view name = names != nullptr && names[i] != nullptr ? names[i] : "";
        const auto id = name.starts_with(fd_name_prefix) ? id_from(name.substr(fd_name_prefix.size())) : std::nullopt;
        if (id)
            fds.emplace(*id, std::move(fd));
        else if (name == wcalias_control_fd_name) {
            // Never two; a duplicate is only closed, since removing it by
            // name would remove the first one from the store too.
            if (!stored.wcalias_control.valid())
                stored.wcalias_control = std::move(fd);
        } else if (!name.empty())
            remove_from_fd_store(name); // not one of ours: closed here, and gone from the store
    }
    if (count > 0)
        log_debug("the service manager handed back " + std::to_string(count) + " stored fd(s)");
    if (names != nullptr) {
        for (int i = 0; i < count; ++i)
            std::free(names[i]);
        std::free(names);
    }
    return stored;
}

} // namespace wcbroker
