// Who is asking: the identity the policy decides on.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wcbroker {

struct CallerIdentity {
    // From the bus daemon's record of the connection (SO_PEERCRED and
    // SO_PEERGROUPS at connect time), never from the message or /proc.
    uid_t uid = static_cast<uid_t>(-1);
    std::vector<gid_t> gids;
    pid_t pid = 0;
    // Derived from /proc/<pid>/cgroup after the fact: best effort, and a
    // process can race it (see docs/security.md). nullopt when unknown.
    std::optional<std::string> systemd_unit;
    std::optional<std::string> cgroup;
};

// "1000,2000": gids as explanations, the audit trail and lease records
// write them.
inline std::string gid_list(const std::vector<gid_t>& gids)
{
    std::string list;
    for (gid_t gid : gids)
        list += (list.empty() ? "" : ",") + std::to_string(gid);
    return list;
}

} // namespace wcbroker
