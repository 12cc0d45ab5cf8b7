// wcbrokerctl check-policy: validate the policy files and show what they mean.

#include "cli.hpp"
#include "policy-loading.hpp"
#include "policy-summary.hpp"
#include "verbs.hpp"

#include <cstdio>
#include <getopt.h>
#include <iostream>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl check-policy [--policy-dir DIR] [--json] [FILE...]

Validate the policy files and print what they resolve to: every selector and
rule, in the order wcbrokerd evaluates them, with names resolved to ids and
sizes to bytes. Errors and warnings go to standard error as
FILE:LINE:COLUMN: error: KEY: MESSAGE.

Files read (without --policy-dir): /etc/wcbroker/policy.toml, then all
*.toml files of /etc/wcbroker/policy.d and /run/wcbroker/policy.d sorted by
file name. With --policy-dir DIR: DIR/policy.toml and DIR/policy.d/*.toml.
With FILE arguments: exactly those files, merged in the order given (to
check a drop-in together with the main policy before installing it, list
both).

User and group names that do not resolve on this host are errors here (the
daemon only warns, since accounts can be created later).

Options:
  --policy-dir DIR   read the policy from DIR instead of the system locations
  --json             print the summary and diagnostics as JSON
  -h, --help         show this help

Exit status: 0 valid, 1 invalid, 2 usage error.
)";

} // namespace

int run_check_policy(int argc, char** argv)
{
    std::optional<std::string> policy_dir;
    bool json = false;
    static const struct option options[] = {
        {"policy-dir", required_argument, nullptr, 'p'},
        {"json", no_argument, nullptr, 'j'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    int option;
    while ((option = ::getopt_long(argc, argv, "h", options, nullptr)) != -1) {
        switch (option) {
        case 'p':
            policy_dir = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            std::fputs(help_text, stdout);
            return exit_ok;
        default:
            return usage_error("check-policy", "unknown option");
        }
    }
    std::vector<std::string> files(argv + optind, argv + argc);
    if (!files.empty() && policy_dir)
        return usage_error("check-policy", "give either --policy-dir or policy files, not both");

    LoadResult result = load_chosen_policy({policy_dir, files}, /*unknown_names_are_errors=*/true);

    print_diagnostics(result.diagnostics);
    const std::size_t errors = result.diagnostics.error_count();
    const std::size_t warnings = result.diagnostics.warning_count();

    if (json) {
        toml::table root;
        root.insert("valid", result.policy != nullptr);
        root.insert("errors", static_cast<std::int64_t>(errors));
        root.insert("warnings", static_cast<std::int64_t>(warnings));
        root.insert("diagnostics", diagnostics_json(result.diagnostics));
        if (result.policy)
            root.insert("policy", policy_summary_json(*result.policy));
        print_json(root);
    } else if (result.policy) {
        std::cout << policy_summary_text(*result.policy);
        if (result.files.empty())
            std::cout << "No policy files found: every request will be denied.\n";
    }
    if (errors != 0 || warnings != 0)
        std::fprintf(stderr, "%zu error(s), %zu warning(s)\n", errors, warnings);
    if (!result.policy) {
        std::fprintf(stderr, "Policy is invalid; wcbrokerd would keep serving its previous policy.\n");
        return exit_no;
    }
    return exit_ok;
}

} // namespace wcbroker::cli
