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

// The system manager's unit of a cgroup path: the first component below
// the slices ("*.slice", which only the system manager creates), when it
// ends in ".service" or ".scope"; else none. Nothing deeper counts: below a
// unit, the cgroup tree belongs to the unit's processes when it delegates
// (Delegate=yes, and every user@UID.service, the user's own manager), and
// they can create sub-cgroups named like any unit. So
//   /system.slice/dpdk.service/worker                          -> dpdk.service
//   /user.slice/user-1000.slice/user@1000.service/app.slice/dpdk.service
//                                                              -> user@1000.service
//   /user.slice/user-1000.slice/session-4.scope                -> session-4.scope
//   /init.scope -> init.scope;  /, /system.slice, /system.slice/x.mount -> none
std::optional<std::string> unit_of_cgroup(std::string_view path);

} // namespace wcbroker
