// The systemd unit and cgroup of a process, from /proc/PID/cgroup. Read after
// the fact, so a process can race it (by exiting and letting its pid be
// reused, or by handing its bus connection to another process): policy
// treats units and cgroups as narrowing conditions only (docs/security.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wcbroker {

// The unified (v2) hierarchy's path ("0::/system.slice/x.service"), or on a
// legacy host the name=systemd one.
std::optional<std::string> parse_proc_cgroup(std::string_view text);

// The innermost unit named by a cgroup path: the last component ending in
// ".service" or ".scope" ("/system.slice/dpdk.service/worker" -> "dpdk.service").
std::optional<std::string> unit_of_cgroup(std::string_view path);

} // namespace wcbroker
