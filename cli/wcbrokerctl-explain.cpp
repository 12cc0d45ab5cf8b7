// wcbrokerctl explain: what the policy decides for a request, and why.

#include "bus-client.hpp"
#include "byte-size.hpp"
#include "cli.hpp"
#include "device-facts-file.hpp"
#include "evaluator.hpp"
#include "kernel-paths.hpp"
#include "name-resolver.hpp"
#include "pci-address.hpp"
#include "policy-loading.hpp"
#include "sysfs-pci-reader.hpp"
#include "verbs.hpp"

#include <cstdio>
#include <getopt.h>
#include <grp.h>
#include <iostream>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl explain --access wc|uc [--json] [--bus ADDRESS] BDF BAR [OFFSET LENGTH]
       wcbrokerctl explain (--device BDF | --device-facts FILE)
                           --uid USER [--gid GROUP]... [--unit UNIT] [--cgroup PATH]
                           --bar N [--offset OFFSET] [--length LENGTH] --access wc|uc
                           [--policy-dir DIR | --policy FILE...] [--sysfs-root DIR] [--json]

The first form asks the running wcbrokerd what it would decide for you (the
calling user, as the bus sees you) and whether a mechanism could serve it.

The second form evaluates the policy offline, exactly as wcbrokerd would,
for one request by any caller, and says which rule decides and why. For a
denial it names the rule that came nearest and what it lacked.

The device:
  --device BDF          read its facts from sysfs (e.g. 0000:3b:00.0)
  --device-facts FILE   read them from a TOML file (see wcbroker-policy(5)),
                        for a device that is not on this host
  --sysfs-root DIR      with --device: read sysfs under DIR instead of /

The caller:
  --uid USER            user name or uid
  --gid GROUP           group name or gid; repeat for each group. Without any
                        --gid, the user's groups from the user database are used
  --unit UNIT           the caller's systemd unit, e.g. dpdk.service
  --cgroup PATH         the caller's cgroup, e.g. /system.slice/dpdk.service

The request:
  --bar N               BAR index (0-5)
  --offset OFFSET       byte offset in the BAR (default 0); accepts 0x1000, 4KiB
  --length LENGTH       bytes (default: from OFFSET to the end of the BAR)
  --access wc|uc        write-combine or uncached

  --policy-dir DIR      policy in DIR/policy.toml and DIR/policy.d/ instead
                        of /etc/wcbroker and /run/wcbroker
  --policy FILE         exactly this policy file; repeat to merge several
                        in the order given
  --json                print the decision as JSON
  -h, --help            show this help

Exit status: 0 allowed, 1 denied (also in audit mode), 2 usage error,
3 the policy or device could not be read.
)";

struct Arguments {
    std::optional<std::string> device;
    std::optional<std::string> device_facts_file;
    std::string sysfs_root = "/";
    std::optional<std::string> uid;
    std::vector<std::string> gids;
    std::optional<std::string> unit;
    std::optional<std::string> cgroup;
    std::optional<std::uint64_t> bar;
    std::uint64_t offset = 0;
    std::optional<std::uint64_t> length;
    std::optional<std::string> access;
    std::optional<std::string> policy_dir;
    std::vector<std::string> policy_files;
    bool json = false;
    std::optional<std::string> bus;
    std::vector<std::string> positional; // BDF BAR [OFFSET LENGTH]: ask the daemon
};

std::optional<uid_t> resolve_uid(const std::string& text)
{
    if (auto number = parse_number(text); number && *number < 0xffffffffu)
        return static_cast<uid_t>(*number);
    return SystemNameResolver().user_id(text);
}

std::optional<gid_t> resolve_gid(const std::string& text)
{
    if (auto number = parse_number(text); number && *number < 0xffffffffu)
        return static_cast<gid_t>(*number);
    return SystemNameResolver().group_id(text);
}

// The groups the user would have after a login (primary plus supplementary).
std::vector<gid_t> groups_from_user_database(uid_t uid)
{
    std::vector<char> buffer(16384);
    struct passwd entry {};
    struct passwd* found = nullptr;
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return {};
    int count = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(found->pw_name, found->pw_gid, groups.data(), &count) < 0) {
        groups.resize(static_cast<std::size_t>(count));
        ::getgrouplist(found->pw_name, found->pw_gid, groups.data(), &count);
    }
    groups.resize(static_cast<std::size_t>(count));
    return groups;
}

int parse_arguments(int argc, char** argv, Arguments& args)
{
    enum {
        opt_device = 1000,
        opt_facts,
        opt_sysfs_root,
        opt_uid,
        opt_gid,
        opt_unit,
        opt_cgroup,
        opt_bar,
        opt_offset,
        opt_length,
        opt_access,
        opt_policy_dir,
        opt_policy_file,
        opt_json,
        opt_bus,
    };
    static const struct option options[] = {
        {"device", required_argument, nullptr, opt_device},
        {"device-facts", required_argument, nullptr, opt_facts},
        {"sysfs-root", required_argument, nullptr, opt_sysfs_root},
        {"uid", required_argument, nullptr, opt_uid},
        {"gid", required_argument, nullptr, opt_gid},
        {"unit", required_argument, nullptr, opt_unit},
        {"cgroup", required_argument, nullptr, opt_cgroup},
        {"bar", required_argument, nullptr, opt_bar},
        {"offset", required_argument, nullptr, opt_offset},
        {"length", required_argument, nullptr, opt_length},
        {"access", required_argument, nullptr, opt_access},
        {"policy-dir", required_argument, nullptr, opt_policy_dir},
        {"policy", required_argument, nullptr, opt_policy_file},
        {"json", no_argument, nullptr, opt_json},
        {"bus", required_argument, nullptr, opt_bus},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    int option;
    while ((option = ::getopt_long(argc, argv, "h", options, nullptr)) != -1) {
        switch (option) {
        case opt_device:
            args.device = optarg;
            break;
        case opt_facts:
            args.device_facts_file = optarg;
            break;
        case opt_sysfs_root:
            args.sysfs_root = optarg;
            break;
        case opt_uid:
            args.uid = optarg;
            break;
        case opt_gid:
            args.gids.emplace_back(optarg);
            break;
        case opt_unit:
            args.unit = optarg;
            break;
        case opt_cgroup:
            args.cgroup = optarg;
            break;
        case opt_bar:
            args.bar = parse_number(optarg);
            if (!args.bar || *args.bar > max_bar_index)
                return usage_error("explain", "--bar takes a BAR index from 0 to 5");
            break;
        case opt_offset:
            if (auto offset = parse_size(optarg))
                args.offset = *offset;
            else
                return usage_error("explain", "--offset takes a byte offset such as 0x1000 or 4KiB");
            break;
        case opt_length:
            args.length = parse_size(optarg);
            if (!args.length || *args.length == 0)
                return usage_error("explain", "--length takes a positive byte count such as 4096 or 2MiB");
            break;
        case opt_access:
            args.access = parse_access_option(optarg);
            if (!args.access)
                return usage_error("explain", "--access takes wc (write-combine) or uc (uncached)");
            break;
        case opt_policy_dir:
            args.policy_dir = optarg;
            break;
        case opt_policy_file:
            args.policy_files.emplace_back(optarg);
            break;
        case opt_json:
            args.json = true;
            break;
        case opt_bus:
            args.bus = optarg;
            break;
        case 'h':
            std::fputs(help_text, stdout);
            return -1;
        default:
            return usage_error("explain", "unknown option");
        }
    }
    args.positional.assign(argv + optind, argv + argc);
    if (!args.positional.empty()) {
        if (args.device || args.device_facts_file || args.uid || !args.gids.empty() || args.bar || args.policy_dir
            || !args.policy_files.empty() || args.length || args.offset != 0 || args.unit || args.cgroup
            || args.sysfs_root != "/")
            return usage_error("explain", "asking the daemon (BDF BAR [OFFSET LENGTH]) takes only --access, --json "
                                          "and --bus; the daemon knows who you are");
        if (args.positional.size() != 2 && args.positional.size() != 4)
            return usage_error("explain", "give BDF BAR, or BDF BAR OFFSET LENGTH");
        if (!args.access)
            return usage_error("explain", "--access wc|uc is required");
        return exit_ok;
    }
    if (args.device.has_value() == args.device_facts_file.has_value())
        return usage_error("explain", "give exactly one of --device BDF or --device-facts FILE");
    if (!args.uid)
        return usage_error("explain", "--uid is required: whose request is it?");
    if (!args.bar)
        return usage_error("explain", "--bar is required");
    if (!args.access)
        return usage_error("explain", "--access wc|uc is required");
    if (args.policy_dir && !args.policy_files.empty())
        return usage_error("explain", "give either --policy-dir or --policy files, not both");
    return exit_ok;
}

std::optional<DeviceFacts> load_device(const Arguments& args)
{
    if (args.device_facts_file) {
        Diagnostics diagnostics;
        auto facts = read_device_facts_file(*args.device_facts_file, diagnostics);
        print_diagnostics(diagnostics);
        return facts;
    }
    auto address = canonical_pci_address(*args.device);
    if (!address) {
        failure("explain", "'" + *args.device + "' is not a PCI address; write it as in sysfs, e.g. 0000:3b:00.0");
        return std::nullopt;
    }
    const SysfsReadResult read = read_pci_device(KernelPaths(args.sysfs_root), *address);
    if (read.status == SysfsReadStatus::Gone) {
        failure("explain", "no PCI device " + *address + " under " + KernelPaths(args.sysfs_root).pci_devices_dir());
        return std::nullopt;
    }
    if (read.status == SysfsReadStatus::Incomplete) {
        failure("explain", "cannot read the facts of " + *address + ": " + read.problem);
        return std::nullopt;
    }
    return read.facts;
}

toml::table rule_json(const Rule& rule)
{
    return toml::table{{"name", rule.name}, {"location", rule.where.to_string()}};
}

void print_decision(const Arguments& args, const Policy& policy, const DeviceFacts& facts,
    const CallerIdentity& caller, const AccessRequest& request, const Decision& decision, bool gids_from_database)
{
    const Explanation explanation = explain(policy, decision, facts, caller, request);
    if (args.json) {
        toml::table root;
        root.insert("allowed", decision.allowed);
        root.insert("enforced", decision.enforced);
        root.insert("granted", decision.granted());
        root.insert("reason", explanation.reason);
        if (const Rule* rule = decision.rule())
            root.insert("rule", rule_json(*rule));
        if (decision.nearest != nullptr) {
            toml::table nearest = rule_json(*decision.nearest);
            nearest.insert("mismatch", explanation.nearest_mismatch);
            root.insert("nearest", std::move(nearest));
        }
        toml::array gids;
        for (gid_t gid : caller.gids)
            gids.push_back(static_cast<std::int64_t>(gid));
        toml::table caller_json{{"uid", static_cast<std::int64_t>(caller.uid)}, {"gids", std::move(gids)}};
        if (caller.systemd_unit)
            caller_json.insert("unit", *caller.systemd_unit);
        if (caller.cgroup)
            caller_json.insert("cgroup", *caller.cgroup);
        root.insert("caller", std::move(caller_json));
        root.insert("request", toml::table{{"device", facts.address}, {"bar", static_cast<std::int64_t>(request.bar)},
                                   {"offset", static_cast<std::int64_t>(request.offset)},
                                   {"length", static_cast<std::int64_t>(request.length)},
                                   {"access", std::string(access_name(request.access))}});
        root.insert("mode", std::string(enforcement_mode_name(policy.mode)));
        print_json(root);
        return;
    }
    std::cout << "Request:  " << access_name(request.access) << " on " << facts.address << " BAR " << request.bar
              << " offset " << format_hex(request.offset) << " length " << format_byte_size(request.length) << "\n";
    std::cout << "Caller:   uid " << caller.uid << ", gids";
    for (gid_t gid : caller.gids)
        std::cout << " " << gid;
    if (caller.gids.empty())
        std::cout << " (none)";
    if (gids_from_database)
        std::cout << " (from the user database)";
    if (caller.systemd_unit)
        std::cout << ", unit " << *caller.systemd_unit;
    if (caller.cgroup)
        std::cout << ", cgroup " << *caller.cgroup;
    std::cout << "\nPolicy:   " << policy.files.size() << " file(s), " << policy.rules.size() << " rule(s), mode "
              << enforcement_mode_name(policy.mode) << "\n";
    std::cout << "Decision: " << (decision.allowed ? "ALLOW" : "DENY");
    if (!decision.allowed && decision.granted())
        std::cout << " (audit mode: wcbrokerd would log the denial and grant anyway)";
    std::cout << "\n";
    if (const Rule* rule = decision.rule())
        std::cout << "Rule:     " << rule->label() << "\n";
    if (decision.nearest != nullptr) {
        std::cout << "Nearest:  " << decision.nearest->label() << "\n";
        std::cout << "Why not:  " << explanation.nearest_mismatch << "\n";
    }
    std::cout << "Reason:   " << explanation.reason << "\n";
}

} // namespace

namespace {

// Asks the running daemon, as the calling user.
int explain_online(const Arguments& args)
{
    const bool whole_bar = args.positional.size() == 2;
    const auto range = parse_bar_range("explain", args.positional[1].c_str(),
        whole_bar ? nullptr : args.positional[2].c_str(), whole_bar ? nullptr : args.positional[3].c_str());
    if (!range)
        return exit_usage;
    const std::uint32_t bar = range->bar;
    const std::uint64_t offset = range->offset.value_or(0);
    std::uint64_t length = range->length.value_or(0);
    try {
        auto connection = connect_bus(args.bus);
        if (whole_bar) {
            // The whole BAR: ask the daemon how big it is; for no such BAR,
            // any length lets the daemon say so.
            const std::string address = canonical_pci_address(args.positional[0]).value_or(args.positional[0]);
            length = bar_size(*connection, address, bar).value_or(4096);
        }
        auto broker = sdbus_compat::make_proxy(*connection, broker_service, broker_path);
        bool allowed = false;
        std::string rule, reason, mechanism;
        broker->callMethod("Explain")
            .onInterface(broker_interface)
            .withArguments(args.positional[0], bar, offset, length, *args.access)
            .storeResultsTo(allowed, rule, reason, mechanism);
        if (args.json) {
            print_json(toml::table{{"allowed", allowed}, {"rule", rule}, {"reason", reason}, {"mechanism", mechanism}});
        } else {
            std::cout << "Decision:  " << (allowed ? "ALLOW" : "DENY") << "\n";
            if (!rule.empty())
                std::cout << (allowed ? "Rule:      " : "Nearest:   ") << rule << "\n";
            if (!mechanism.empty())
                std::cout << "Mechanism: " << mechanism << "\n";
            std::cout << "Reason:    " << reason << "\n";
        }
        return allowed ? exit_ok : exit_no;
    } catch (const sdbus::Error& error) {
        return report("explain", error);
    }
}

} // namespace

int run_explain(int argc, char** argv)
{
    Arguments args;
    if (int status = parse_arguments(argc, argv, args); status != exit_ok)
        return status < 0 ? exit_ok : status;
    if (!args.positional.empty())
        return explain_online(args);

    CallerIdentity caller;
    auto uid = resolve_uid(*args.uid);
    if (!uid)
        return usage_error("explain", "no user '" + *args.uid + "' on this host; give a uid number instead");
    caller.uid = *uid;
    for (const std::string& gid_text : args.gids) {
        auto gid = resolve_gid(gid_text);
        if (!gid)
            return usage_error("explain", "no group '" + gid_text + "' on this host; give a gid number instead");
        caller.gids.push_back(*gid);
    }
    const bool gids_from_database = args.gids.empty();
    if (gids_from_database)
        caller.gids = groups_from_user_database(caller.uid);
    caller.systemd_unit = args.unit;
    caller.cgroup = args.cgroup;

    auto facts = load_device(args);
    if (!facts)
        return exit_failure;

    // As the daemon does: unknown names warn, because accounts can appear later.
    LoadResult loaded = load_chosen_policy({args.policy_dir, args.policy_files}, /*unknown_names_are_errors=*/false);
    print_diagnostics(loaded.diagnostics);
    if (!loaded.policy)
        return failure("explain", "the policy has errors (listed above); fix them and run check-policy");

    AccessRequest request;
    request.bar = static_cast<std::uint32_t>(*args.bar);
    request.offset = args.offset;
    request.access = *parse_access(*args.access);
    if (args.length) {
        request.length = *args.length;
    } else if (const BarFacts* bar = facts->bar(request.bar); bar != nullptr && bar->size > args.offset) {
        request.length = bar->size - args.offset;
    } else {
        request.length = 4096; // a BAR that does not exist or an offset past it: let the evaluator say so
    }

    const Decision decision = evaluate(*loaded.policy, *facts, caller, request);
    print_decision(args, *loaded.policy, *facts, caller, request, decision, gids_from_database);
    return decision.allowed ? exit_ok : exit_no;
}

} // namespace wcbroker::cli
