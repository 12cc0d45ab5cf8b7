#include "daemon-options.hpp"

#include "wcbroker-config.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <getopt.h>

namespace wcbroker {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerd [OPTIONS]

The write-combining BAR broker: watches udev for PCI devices bound to
vfio-pci, and hands mmap-ready file descriptors for the BAR ranges the
policy allows to clients on the D-Bus system bus (org.wcbroker.Broker1).

Options:
  --policy-dir DIR        read DIR/policy.toml and DIR/policy.d/*.toml instead
                          of /etc/wcbroker/policy.toml, /etc/wcbroker/policy.d
                          and /run/wcbroker/policy.d
  --sysfs-root DIR        read sysfs, debugfs and procfs under DIR (DIR/sys,
                          DIR/proc) instead of /: for tests and demos
  --state-dir DIR         keep lease records in DIR/leases (default
                          /run/wcbroker), for a restarted daemon to take over
  --bus BUS               system (default), session, or a D-Bus address such
                          as unix:path=/run/test/bus
  --udev-source SOURCE    auto (default: udev when udevd runs, else kernel),
                          udev, or kernel
  --max-leases-per-uid N  most leases one uid may hold at once (default 1024)
  --log-level LEVEL       error, warning, notice, info (default) or debug
  -h, --help              show this help
  --version               show the version

Signals: SIGHUP reloads the policy; SIGTERM and SIGINT stop the daemon.
See wcbrokerd(8).
)";

int usage_error(const std::string& message)
{
    std::fprintf(stderr, "wcbrokerd: %s\nTry 'wcbrokerd --help'.\n", message.c_str());
    return 2;
}

} // namespace

std::variant<DaemonOptions, int> parse_daemon_options(int argc, char** argv)
{
    enum {
        opt_policy_dir = 1000,
        opt_sysfs_root,
        opt_state_dir,
        opt_bus,
        opt_udev_source,
        opt_max_leases,
        opt_log_level,
        opt_version
    };
    static const struct option options[] = {
        {"policy-dir", required_argument, nullptr, opt_policy_dir},
        {"sysfs-root", required_argument, nullptr, opt_sysfs_root},
        {"state-dir", required_argument, nullptr, opt_state_dir},
        {"bus", required_argument, nullptr, opt_bus},
        {"udev-source", required_argument, nullptr, opt_udev_source},
        {"max-leases-per-uid", required_argument, nullptr, opt_max_leases},
        {"log-level", required_argument, nullptr, opt_log_level},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, opt_version},
        {nullptr, 0, nullptr, 0},
    };
    DaemonOptions parsed;
    int option;
    while ((option = ::getopt_long(argc, argv, "h", options, nullptr)) != -1) {
        switch (option) {
        case opt_policy_dir:
            parsed.policy_dir = optarg;
            break;
        case opt_sysfs_root:
            parsed.sysfs_root = optarg;
            break;
        case opt_state_dir:
            parsed.state_dir = optarg;
            if (parsed.state_dir.empty() || parsed.state_dir.front() != '/')
                return usage_error("--state-dir takes an absolute directory");
            break;
        case opt_bus:
            parsed.bus = optarg;
            if (parsed.bus != "system" && parsed.bus != "session" && parsed.bus.find(':') == std::string::npos)
                return usage_error("--bus takes system, session, or a D-Bus address such as unix:path=/run/bus");
            break;
        case opt_udev_source:
            if (auto source = parse_udev_source(optarg))
                parsed.udev_source = *source;
            else
                return usage_error("--udev-source takes auto, udev or kernel");
            break;
        case opt_max_leases: {
            const char* end = optarg + std::strlen(optarg);
            auto [next, error] = std::from_chars(optarg, end, parsed.max_leases_per_uid);
            if (error != std::errc() || next != end || parsed.max_leases_per_uid == 0)
                return usage_error("--max-leases-per-uid takes a positive number");
            break;
        }
        case opt_log_level:
            if (auto level = parse_log_level(optarg))
                parsed.log_level = *level;
            else
                return usage_error("--log-level takes error, warning, notice, info or debug");
            break;
        case 'h':
            std::fputs(help_text, stdout);
            return 0;
        case opt_version:
            std::printf("wcbrokerd %s\n", WCBROKER_VERSION);
            return 0;
        default:
            return usage_error("unknown option");
        }
    }
    if (optind != argc)
        return usage_error("unexpected argument '" + std::string(argv[optind]) + "'");
    return parsed;
}

} // namespace wcbroker
