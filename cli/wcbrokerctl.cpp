// wcbrokerctl: the command-line tool for wcbroker. Each verb lives in its own
// file (wcbrokerctl-<verb>.cpp); this file only dispatches.

#include "cli.hpp"
#include "verbs.hpp"

#include "wcbroker-config.h"

#include <array>
#include <cstdio>
#include <cstring>

namespace wcbroker::cli {
namespace {

constexpr std::array verbs{
    Verb{"check-policy", "validate the policy files and print what they resolve to", run_check_policy},
    Verb{"explain", "say what the policy decides for a request, and why", run_explain},
    Verb{"list-devices", "list the devices wcbrokerd serves", run_list_devices},
    Verb{"show-device", "show one device, its BARs and their state", run_show_device},
    Verb{"list-leases", "list the leases wcbrokerd has granted", run_list_leases},
    Verb{"acquire", "take a lease, map it, show the memory type, release", run_acquire},
    Verb{"release", "release a lease", run_release},
    Verb{"reload", "make wcbrokerd re-read its policy", run_reload},
    Verb{"status", "show wcbrokerd's version, policy and kernel capabilities (wcalias)", run_status},
    Verb{"monitor", "print device, lease and policy events as they happen", run_monitor},
    Verb{"autobind-rules", "print udev rules binding the policy's devices to vfio-pci", run_autobind_rules},
    Verb{"cdi", "print a CDI spec giving containers the bus and VFIO devices", run_cdi},
    Verb{"exec", "run a VFIO program (DPDK, SPDK) with its BARs mapped from wcbrokerd", run_exec},
};

void print_help()
{
    std::printf("Usage: wcbrokerctl [--version] [--help] VERB [OPTIONS]\n\n"
                "Inspect and use wcbroker, the write-combining BAR broker for VFIO devices.\n\n"
                "Verbs:\n");
    for (const Verb& verb : verbs)
        std::printf("  %-14.*s %.*s\n", static_cast<int>(verb.name.size()), verb.name.data(),
            static_cast<int>(verb.summary.size()), verb.summary.data());
    std::printf("\nRun 'wcbrokerctl VERB --help' for a verb's options. See wcbrokerctl(1).\n");
}

} // namespace
} // namespace wcbroker::cli

int main(int argc, char** argv)
{
    using namespace wcbroker::cli;
    if (argc < 2) {
        print_help();
        return exit_usage;
    }
    const std::string_view first = argv[1];
    if (first == "-h" || first == "--help" || first == "help") {
        print_help();
        return exit_ok;
    }
    if (first == "--version") {
        std::printf("wcbrokerctl %s\n", WCBROKER_VERSION);
        return exit_ok;
    }
    for (const Verb& verb : verbs) {
        if (verb.name == first)
            return verb.run(argc - 1, argv + 1);
    }
    std::fprintf(stderr, "wcbrokerctl: unknown verb '%s'\nTry 'wcbrokerctl --help'.\n", argv[1]);
    return exit_usage;
}
