// A granted range, as wcbrokerd remembers it.
#pragma once

#include "caller.hpp"
#include "evaluator.hpp"
#include "mechanism.hpp"
#include "memtype.hpp"
#include "unique-fd.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <sys/stat.h>

namespace wcbroker {

// Which file a lease's fd is, so that a restarted daemon can tell whether
// the file it finds is still the one the client maps (a device removed and
// re-added gets new sysfs files).
struct FileIdentity {
    std::string path;
    std::uint64_t device = 0; // st_dev
    std::uint64_t inode = 0;  // st_ino

    bool same_file(const FileIdentity& other) const { return device == other.device && inode == other.inode; }
};

// The file FD is, under PATH; nullopt when FD is not open.
inline std::optional<FileIdentity> identity_of(int fd, std::string path = "")
{
    struct stat info {};
    if (fd < 0 || ::fstat(fd, &info) != 0)
        return std::nullopt;
    return FileIdentity{std::move(path), static_cast<std::uint64_t>(info.st_dev), static_cast<std::uint64_t>(info.st_ino)};
}

// Everything wcbrokerd knows about a granted range, apart from the fd:
// copyable, so the D-Bus object and the lease record keep their own copy.
struct LeaseInfo {
    std::uint64_t id = 0;
    std::string owner;       // the client's unique bus name
    CallerIdentity holder;   // as the bus recorded it at Acquire; re-checked on every reload
    std::string address;     // device
    AccessRequest request;
    Memtype memtype = Memtype::Unverified;
    std::string verification; // how the memtype was established
    std::string mechanism;
    RangeEnforcement range_enforcement = RangeEnforcement::Advisory;
    std::string rule;         // the rule it is charged to; empty when granted only by audit mode
    std::string rule_label;   // "'name' (file:line:col)"
    std::uint64_t policy_generation = 0;
    bool audit_only = false;
    bool client_requires_verified_wc = false;
    std::string label;
    std::uint64_t created_realtime_usec = 0;
    FileIdentity file;
    // The wcalias module's id of the alias, revoked when the lease ends; 0
    // for the sysfs mechanisms.
    std::uint64_t alias_id = 0;
};

// A live lease: its facts and the daemon's own reference to the fd it
// handed out, kept so that a restarted daemon gets it back from systemd's
// fd store and can prove the client's mapping is of the file it finds
// (lease-persistence.hpp). Only the lease table holds these.
struct Lease : LeaseInfo {
    UniqueFd fd;
};

} // namespace wcbroker
