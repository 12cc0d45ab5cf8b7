// wcbrokerctl doctor: whether this machine can do what the policy grants,
// check by check, with the evidence read and what to do. Reads only; asks
// wcbrokerd for its leases when it answers, and works without it.

#include "bus-client.hpp"
#include "cli.hpp"
#include "doctor-checks.hpp"
#include "doctor-facts.hpp"
#include "doctor-report.hpp"
#include "pci-address.hpp"
#include "verbs.hpp"

#include <cstdio>
#include <getopt.h>
#include <iostream>
#include <unistd.h>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl doctor [--json] [--sysfs-root DIR] [--policy-dir DIR | --policy FILE...]
                          [--bus ADDRESS | --no-daemon] [DEVICE [BAR]]

Check whether this machine can serve what the policy grants: the platform
(PAT, lockdown, CONFIG_IO_STRICT_DEVMEM, the kernel line, the IOMMU), each
BAR (memory, 64-bit, prefetchable, size, resourceN_wc), who holds it
(/proc/iomem, processes with the device's VFIO group open, wcbroker's own
wcalias claim), the PAT memory types the kernel already set up over it,
the live leases' types (when wcbrokerd answers), the mechanisms (wcalias
module, sysfs fallback, VFIO DMA-BUF) and which rules grant it.

Without DEVICE, every device bound to vfio-pci; BAR narrows to one BAR.
Each check says ok, warn, fail or unknown, the file it read and the value,
and for anything not ok what to do. It never changes anything. Some facts
need root (debugfs, other processes' fds, /proc/iomem addresses,
/dev/wcalias): without root those checks say unknown and are listed.

  --json                print the report as JSON (schema in wcbrokerctl(1))
  --sysfs-root DIR      read sysfs, procfs and debugfs under DIR (tests);
                        wcbrokerd is then asked only with --bus
  --policy-dir DIR      policy in DIR/policy.toml and DIR/policy.d/
  --policy FILE         exactly this policy file; repeat to merge several
  --bus ADDRESS         ask wcbrokerd on this bus for its leases
  --no-daemon           do not ask wcbrokerd
  -h, --help            show this help

Exit status: 0 everything the policy's grants need holds, 1 something they
need fails, 2 usage error.
)";

struct Arguments {
    std::string sysfs_root = "/";
    PolicyChoice policy;
    std::optional<std::string> bus;
    bool no_daemon = false;
    bool json = false;
    DoctorScope scope;
};

int parse_arguments(int argc, char** argv, Arguments& args)
{
    enum { opt_json = 1000, opt_sysfs_root, opt_policy_dir, opt_policy_file, opt_bus, opt_no_daemon };
    static const struct option options[] = {
        {"json", no_argument, nullptr, opt_json},
        {"sysfs-root", required_argument, nullptr, opt_sysfs_root},
        {"policy-dir", required_argument, nullptr, opt_policy_dir},
        {"policy", required_argument, nullptr, opt_policy_file},
        {"bus", required_argument, nullptr, opt_bus},
        {"no-daemon", no_argument, nullptr, opt_no_daemon},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    int option;
    while ((option = ::getopt_long(argc, argv, "h", options, nullptr)) != -1) {
        switch (option) {
        case opt_json: args.json = true; break;
        case opt_sysfs_root: args.sysfs_root = optarg; break;
        case opt_policy_dir: args.policy.directory = optarg; break;
        case opt_policy_file: args.policy.files.emplace_back(optarg); break;
        case opt_bus: args.bus = optarg; break;
        case opt_no_daemon: args.no_daemon = true; break;
        case 'h': std::fputs(help_text, stdout); return -1;
        default: return usage_error("doctor", "unknown option");
        }
    }
    if (args.policy.directory && !args.policy.files.empty())
        return usage_error("doctor", "give either --policy-dir or --policy files, not both");
    if (args.bus && args.no_daemon)
        return usage_error("doctor", "give either --bus or --no-daemon, not both");
    const int positional = argc - optind;
    if (positional > 2)
        return usage_error("doctor", "takes at most DEVICE and BAR");
    if (positional >= 1) {
        args.scope.device = canonical_pci_address(argv[optind]);
        if (!args.scope.device)
            return usage_error("doctor", std::string("'") + argv[optind] + "' is not a PCI address, e.g. 0000:3b:00.0");
    }
    if (positional == 2) {
        const auto bar = parse_number(argv[optind + 1]);
        if (!bar || *bar > max_bar_index)
            return usage_error("doctor", "BAR is an index from 0 to 5");
        args.scope.bar = static_cast<std::uint32_t>(*bar);
    }
    return exit_ok;
}

DaemonFacts ask_daemon(const Arguments& args)
{
    DaemonFacts daemon;
    if (args.no_daemon) {
        daemon.why_not = "not asked (--no-daemon)";
        return daemon;
    }
    if (args.sysfs_root != "/" && !args.bus) {
        daemon.why_not = "not asked under --sysfs-root without --bus";
        return daemon;
    }
    try {
        auto connection = connect_bus(args.bus);
        // Asking an absent wcbrokerd would have the bus activate it (through
        // systemd): doctor changes nothing, so it asks only a running one,
        // by its unique name, which the bus never activates anything for.
        auto bus = sdbus_compat::make_proxy(*connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        std::string owner;
        try {
            bus->callMethod("GetNameOwner").onInterface("org.freedesktop.DBus").withArguments(std::string(broker_service))
                .storeResultsTo(owner);
        } catch (const sdbus::Error& error) {
            if (error.getName() != "org.freedesktop.DBus.Error.NameHasNoOwner")
                throw;
            daemon.why_not = "wcbrokerd is not running (doctor does not start it)";
            return daemon;
        }
        for (const auto& [path, p] : objects_with(managed_objects(*connection, owner), lease_interface)) {
            DoctorLease lease;
            lease.id = p.at("Id").get<std::uint64_t>();
            lease.address = p.at("Address").get<std::string>();
            lease.bar = p.at("Bar").get<std::uint32_t>();
            lease.offset = p.at("Offset").get<std::uint64_t>();
            lease.length = p.at("Length").get<std::uint64_t>();
            lease.access = p.at("Access").get<std::string>();
            lease.memtype = p.at("Memtype").get<std::string>();
            lease.mechanism = p.at("Mechanism").get<std::string>();
            lease.uid = p.at("Uid").get<std::uint32_t>();
            daemon.leases.push_back(std::move(lease));
        }
        daemon.reachable = true;
    } catch (const sdbus::Error& error) {
        daemon.why_not = error.getName() + ": " + error.getMessage();
    } catch (const std::out_of_range&) {
        daemon.why_not = "a lease object lacks a property this wcbrokerctl knows";
    }
    return daemon;
}

} // namespace

int run_doctor(int argc, char** argv)
{
    Arguments args;
    if (int status = parse_arguments(argc, argv, args); status != exit_ok)
        return status < 0 ? exit_ok : status;
    const bool root = ::geteuid() == 0;
    DoctorFacts facts = read_doctor_facts(KernelPaths(args.sysfs_root), args.scope, args.policy, root);
    facts.daemon = ask_daemon(args);
    const DoctorReport report = run_doctor_checks(facts);
    if (args.json)
        print_json(doctor_json(report, root));
    else
        std::cout << doctor_text(report);
    return report.healthy() ? exit_ok : exit_no;
}

} // namespace wcbroker::cli
