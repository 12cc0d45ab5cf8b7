// wcbrokerctl autobind-rules: udev rules that bind the policy's devices to
// vfio-pci when they appear (opt-in full auto-provisioning).

#include "atomic-file.hpp"
#include "autobind-rules.hpp"
#include "cli.hpp"
#include "policy-loading.hpp"
#include "verbs.hpp"

#include <cstdio>
#include <getopt.h>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl autobind-rules [--policy-dir DIR] [--output FILE] [--json]
                                  [--unbind-bound-drivers] [FILE...]

Print udev rules that bind every PCI device the policy's rules select to
vfio-pci when it appears, at boot or on hotplug (driver_override, as
driverctl does), so that wcbrokerd can serve it with nobody logged in. This
is off unless you install the output:

  wcbrokerctl autobind-rules --output /etc/udev/rules.d/60-wcbroker-autobind.rules
  udevadm control --reload && udevadm trigger --subsystem-match=pci --action=add

A selector udev cannot match exactly (by IOMMU group, for a driver other
than vfio-pci), or too broad to bind safely (neither an address nor, besides
the vendor id, a device id or a class), is left out and named on standard
error: an over-broad rule could take a disk or the management NIC away from
the host. A device another driver already claimed is left alone unless
--unbind-bound-drivers is given.

The policy is read as by check-policy: the system locations, --policy-dir
DIR, or the FILEs given.

Options:
  --policy-dir DIR   read the policy from DIR instead of the system locations
  --output FILE      write the rules to FILE (replaced atomically) instead of
                     standard output
  --json             print {"rules": TEXT, "bound": N, "skipped": [...]}
  --unbind-bound-drivers
                     also take a matching device from a driver that already
                     claimed it (unbind, then probe for vfio-pci)
  -h, --help         show this help

Exit status: 0 rules written, 1 the policy is invalid, 2 usage error,
3 FILE could not be written.
)";

} // namespace

int run_autobind_rules(int argc, char** argv)
{
    PolicyChoice choice;
    std::optional<std::string> output;
    bool json = false;
    AutobindOptions autobind;
    static const struct option options[] = {
        {"unbind-bound-drivers", no_argument, nullptr, 'u'},
        {"policy-dir", required_argument, nullptr, 'p'},
        {"output", required_argument, nullptr, 'o'},
        {"json", no_argument, nullptr, 'j'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    int option;
    while ((option = ::getopt_long(argc, argv, "h", options, nullptr)) != -1) {
        switch (option) {
        case 'p':
            choice.directory = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'u':
            autobind.unbind_bound_drivers = true;
            break;
        case 'h':
            std::fputs(help_text, stdout);
            return exit_ok;
        default:
            return usage_error("autobind-rules", "unknown option");
        }
    }
    choice.files.assign(argv + optind, argv + argc);
    if (!choice.files.empty() && choice.directory)
        return usage_error("autobind-rules", "give either --policy-dir or policy files, not both");

    const LoadResult loaded = load_chosen_policy(choice, /*unknown_names_are_errors=*/false);
    print_diagnostics(loaded.diagnostics);
    if (!loaded.policy) {
        std::fprintf(stderr, "wcbrokerctl autobind-rules: the policy has errors (listed above); no rules written\n");
        return exit_no;
    }

    const AutobindRules rules = make_autobind_rules(*loaded.policy, autobind);
    for (const std::string& line : rules.skipped)
        std::fprintf(stderr, "wcbrokerctl autobind-rules: %s\n", line.c_str());
    if (output) {
        if (const std::string error = write_file_atomically(*output, rules.text, 0644); !error.empty())
            return failure("autobind-rules", error);
    }
    if (json) {
        toml::array skipped;
        for (const std::string& line : rules.skipped)
            skipped.push_back(line);
        print_json(toml::table{
            {"rules", rules.text},
            {"bound", static_cast<std::int64_t>(rules.selectors_bound)},
            {"skipped", std::move(skipped)},
        });
    } else if (!output) {
        std::fputs(rules.text.c_str(), stdout);
    }
    return exit_ok;
}

} // namespace wcbroker::cli
