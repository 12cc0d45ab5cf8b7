// What lets a wcbrokerd restarted after a crash (or by "systemctl restart")
// take over its predecessor's leases: a record per lease in the state
// directory, and, under systemd, the daemon's own fd for each lease in the
// service's fd store (FDSTORE=1). The record says what was granted to whom;
// the fd proves the client still maps the file the new daemon finds.
#pragma once

#include "lease-record.hpp"
#include "unique-fd.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace wcbroker {

// The broker tells its keeper about every lease that begins and ends. A
// concrete class, not an interface: it is the only persistence there is,
// and tests exercise it through the real daemon and a real directory.
class LeaseStateKeeper final {
public:
    // Records go to DIRECTORY (created 0700 when missing); fds to the fd
    // store when `use_fd_store` (the daemon runs under systemd).
    // Locks DIRECTORY for as long as the keeper lives.
    LeaseStateKeeper(std::string directory, std::string bus_id, bool use_fd_store);

    // Another running wcbrokerd holds the lock on the directory: its
    // records are not a predecessor's, and this daemon must not start.
    bool in_use_by_another_daemon() const { return in_use_; }

    void lease_granted(const Lease& lease);
    void lease_ended(std::uint64_t id);

    struct Found {
        std::string file;
        std::optional<std::uint64_t> id;               // from the file name
        std::variant<LeaseRecord, std::string> record; // or why the file is not a usable record
    };
    // Every record a previous run left, in file name order.
    std::vector<Found> load() const;
    // Removes a record that cannot be used, and its fd from the store.
    void discard(const Found& found);

    const std::string& bus_id() const { return bus_id_; }

    struct StoredFds {
        std::map<std::uint64_t, UniqueFd> leases; // FDNAME=lease-ID, by lease id
        UniqueFd wcalias_control;                 // FDNAME=wcalias-control
    };
    // The fds the service manager handed back at start (LISTEN_FDS). Call
    // once, before anything else opens fds: it consumes the environment.
    static StoredFds take_stored_fds();
    // Keeps the wcalias module's control fd in the fd store, so that a
    // restarted daemon gets the same control context back and the kernel
    // revokes none of its aliases. Only under systemd.
    static void store_wcalias_control(int fd);

private:
    std::string path_of(std::uint64_t id) const;

    std::string directory_;
    std::string bus_id_;
    bool use_fd_store_;
    UniqueFd lock_;
    bool in_use_ = false;
    bool warned_ = false;
};

} // namespace wcbroker
