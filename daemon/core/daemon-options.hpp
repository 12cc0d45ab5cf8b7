// wcbrokerd's command line.
#pragma once

#include "log.hpp"
#include "udev-monitor.hpp"
#include "wcbroker-config.h"

#include <cstddef>
#include <optional>
#include <string>
#include <variant>

namespace wcbroker {

struct DaemonOptions {
    std::optional<std::string> policy_dir; // default: /etc/wcbroker + /run/wcbroker
    std::string sysfs_root = "/";
    std::string state_dir = WCBROKER_RUNSTATEDIR "/wcbroker"; // lease records in STATE_DIR/leases
    std::string bus = "system"; // "system", "session", or a D-Bus address
    LogLevel log_level = LogLevel::Info;
    UdevSource udev_source = UdevSource::Auto;
    std::size_t max_leases_per_uid = 1024;
};

// The options, or the exit status to leave with (0 after --help/--version,
// 2 after a usage error, which has been printed).
std::variant<DaemonOptions, int> parse_daemon_options(int argc, char** argv);

} // namespace wcbroker
