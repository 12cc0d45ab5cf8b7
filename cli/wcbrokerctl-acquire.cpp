// wcbrokerctl acquire: take a lease through libwcbroker, map it, show what
// the kernel set up, optionally write a pattern, hold, release.

#include "bus-client.hpp"
#include "matching.hpp"
#include "byte-size.hpp"
#include "online-options.hpp"
#include "pci-address.hpp"
#include "verbs.hpp"
#include "wcbroker.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl acquire [OPTIONS] --access wc|uc BDF BAR [OFFSET LENGTH]

Ask wcbrokerd for a lease on BAR of device BDF (from OFFSET for LENGTH
bytes; the whole BAR when both are left out), map it through libwcbroker,
and print what the kernel actually set up. Without --hold the lease is
released at once; with it, held until interrupted, revoked, or timed out.

  --access wc|uc        write-combine or uncached (required)
  --label TEXT          a label shown in lease lists and audit records
  --require-verified-wc fail unless the kernel verifiably maps it
                        write-combining
  --write-pattern TEXT  fill the range with TEXT repeated, then fence
                        (sfence on x86) so the device sees it
  --hold[=SECONDS]      keep the lease; without SECONDS until SIGINT/SIGTERM
                        or revocation
  --json                print JSON lines
  --bus ADDRESS         use this bus instead of the system bus

Exit status: 0 done, 1 refused (by wcbrokerd, or by the kernel's mmap) or
revoked while held, 2 usage error, 3 wcbrokerd unreachable.
)";

struct Arguments {
    OnlineOptions common;
    std::string access;
    std::string label;
    bool require_verified_wc = false;
    std::optional<std::string> pattern;
    bool hold = false;
    std::optional<unsigned> hold_seconds;
    std::string device;
    unsigned bar = 0;
    std::optional<std::uint64_t> offset;
    std::optional<std::uint64_t> length;
};

int parse(int argc, char** argv, Arguments& args)
{
    enum { opt_access = 1000, opt_label, opt_verified, opt_pattern, opt_hold };
    const auto table = online_option_table({
        {"access", required_argument, nullptr, opt_access},
        {"label", required_argument, nullptr, opt_label},
        {"require-verified-wc", no_argument, nullptr, opt_verified},
        {"write-pattern", required_argument, nullptr, opt_pattern},
        {"hold", optional_argument, nullptr, opt_hold},
    });
    int option;
    while ((option = ::getopt_long(argc, argv, "h", table.data(), nullptr)) != -1) {
        if (take_online_option(option, args.common))
            continue;
        switch (option) {
        case opt_access:
            if (auto access = parse_access_option(optarg))
                args.access = *access;
            else
                return usage_error("acquire", "--access takes wc (write-combine) or uc (uncached)");
            break;
        case opt_label:
            args.label = optarg;
            break;
        case opt_verified:
            args.require_verified_wc = true;
            break;
        case opt_pattern:
            if (optarg[0] == '\0')
                return usage_error("acquire", "--write-pattern needs a non-empty TEXT");
            args.pattern = optarg;
            break;
        case opt_hold:
            args.hold = true;
            if (optarg != nullptr) {
                auto seconds = parse_number(optarg);
                if (!seconds || *seconds > 86400 * 365)
                    return usage_error("acquire", "--hold takes a number of seconds");
                args.hold_seconds = static_cast<unsigned>(*seconds);
            }
            break;
        default:
            return usage_error("acquire", "unknown option");
        }
    }
    if (args.common.help)
        return exit_ok;
    const int positional = argc - optind;
    if (positional != 2 && positional != 4)
        return usage_error("acquire", "give BDF BAR, or BDF BAR OFFSET LENGTH");
    if (args.access.empty())
        return usage_error("acquire", "--access wc|uc is required");
    auto device = canonical_pci_address(argv[optind]);
    if (!device)
        return usage_error("acquire", "'" + std::string(argv[optind]) + "' is not a PCI address such as 0000:3b:00.0");
    args.device = *device;
    const auto range = parse_bar_range("acquire", argv[optind + 1], positional == 4 ? argv[optind + 2] : nullptr,
        positional == 4 ? argv[optind + 3] : nullptr);
    if (!range)
        return exit_usage;
    args.bar = range->bar;
    args.offset = range->offset;
    args.length = range->length;
    return exit_ok;
}

void fill(void* address, std::size_t length, const std::string& pattern)
{
    auto* bytes = static_cast<unsigned char*>(address);
    for (std::size_t i = 0; i < length; i += pattern.size())
        std::memcpy(bytes + i, pattern.data(), std::min(pattern.size(), length - i));
    // Write-combining buffers may hold these stores; fence before anyone
    // (the device, a doorbell) is told they are there.
    wcbroker_wc_barrier();
}

struct Revocation {
    bool revoked = false;
    std::string reason;
};

} // namespace

int run_acquire(int argc, char** argv)
{
    Arguments args;
    if (int status = parse(argc, argv, args); status != exit_ok)
        return status;
    if (args.common.help) {
        std::fputs(help_text, stdout);
        return exit_ok;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // others may be watching the output as it comes

    if (!args.offset) {
        try {
            auto size = bar_size(*connect_bus(args.common.bus), args.device, args.bar);
            if (!size) {
                std::fprintf(stderr, "wcbrokerctl acquire: wcbrokerd serves no BAR %u of %s; see 'wcbrokerctl "
                                     "list-devices'\n",
                    args.bar, args.device.c_str());
                return exit_no;
            }
            args.offset = 0;
            args.length = *size;
        } catch (const sdbus::Error& error) {
            return report("acquire", error);
        }
    }

    // Block the signals the hold loop waits for before anything else runs.
    // A background job of a non-interactive shell starts with SIGINT
    // ignored, and an ignored signal never reaches a signalfd.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, nullptr);

    char* error = nullptr;
    wcbroker_session* session = nullptr;
    int r = args.common.bus ? wcbroker_session_open_address(&session, args.common.bus->c_str(), &error)
                            : wcbroker_session_open(&session, &error);
    if (r < 0) {
        std::fprintf(stderr, "wcbrokerctl acquire: %s\n", error);
        std::free(error);
        return exit_failure;
    }
    struct wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
    request.device = args.device.c_str();
    request.bar = args.bar;
    request.offset = *args.offset;
    request.length = *args.length;
    request.access = args.access == "write-combine" ? WCBROKER_WRITE_COMBINE : WCBROKER_UNCACHED;
    request.require_verified_wc = args.require_verified_wc ? 1 : 0;
    request.label = args.label.empty() ? nullptr : args.label.c_str();
    wcbroker_mapping* mapping = nullptr;
    r = wcbroker_map(session, &request, &mapping, &error);
    if (r < 0) {
        std::fprintf(stderr, "wcbrokerctl acquire: %s (%s)\n", error, std::strerror(-r));
        std::free(error);
        wcbroker_session_close(session);
        return r == -ECONNREFUSED || r == -EIO ? exit_failure : exit_no;
    }

    if (args.common.json) {
        char address[32];
        std::snprintf(address, sizeof address, "%p", wcbroker_mapping_address(mapping));
        print_json_line(toml::table{{"event", "acquired"}, {"lease", wcbroker_mapping_lease(mapping)},
            {"device", args.device}, {"bar", static_cast<std::int64_t>(args.bar)},
            {"offset", static_cast<std::int64_t>(*args.offset)}, {"length", static_cast<std::int64_t>(*args.length)},
            {"access", args.access}, {"memtype", wcbroker_mapping_memtype(mapping)},
            {"mechanism", wcbroker_mapping_mechanism(mapping)},
            {"range_enforcement", wcbroker_mapping_range_enforcement(mapping)}, {"address", address}});
    } else {
        std::printf("Lease:      %s\n", wcbroker_mapping_lease(mapping));
        std::printf("Range:      %s BAR %u %s %s\n", args.device.c_str(), args.bar,
            describe_range(*args.offset, *args.length).c_str(), args.access.c_str());
        std::printf("Memtype:    %s (what the kernel set up)\n", wcbroker_mapping_memtype(mapping));
        std::printf("Mechanism:  %s, range %s\n", wcbroker_mapping_mechanism(mapping),
            wcbroker_mapping_range_enforcement(mapping));
        std::printf("Mapped at:  %p\n", wcbroker_mapping_address(mapping));
    }
    if (args.pattern) {
        fill(wcbroker_mapping_address(mapping), wcbroker_mapping_length(mapping), *args.pattern);
        if (args.common.json)
            print_json_line(toml::table{{"event", "wrote"}, {"pattern", *args.pattern},
                {"bytes", static_cast<std::int64_t>(wcbroker_mapping_length(mapping))}});
        else
            std::printf("Wrote:      \"%s\" repeated over %s, then fenced\n", args.pattern->c_str(),
                format_byte_size(wcbroker_mapping_length(mapping)).c_str());
    }

    int status = exit_ok;
    if (args.hold) {
        Revocation revocation;
        wcbroker_session_on_revoked(
            session,
            [](wcbroker_mapping*, const char* reason, void* userdata) {
                auto* state = static_cast<Revocation*>(userdata);
                state->revoked = true;
                state->reason = reason;
            },
            &revocation);
        const int signal_fd = ::signalfd(-1, &signals, SFD_CLOEXEC);
        if (!args.common.json)
            std::printf("Holding:    %s\n",
                args.hold_seconds ? ("for " + std::to_string(*args.hold_seconds) + " s").c_str()
                                  : "until interrupted or revoked");
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args.hold_seconds.value_or(0));
        while (!revocation.revoked) {
            int timeout = -1;
            if (args.hold_seconds) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now());
                if (left.count() <= 0)
                    break;
                timeout = static_cast<int>(left.count());
            }
            struct pollfd fds[2] = {{wcbroker_session_fd(session), POLLIN, 0}, {signal_fd, POLLIN, 0}};
            if (::poll(fds, 2, timeout) < 0 && errno != EINTR)
                break;
            if (fds[1].revents != 0)
                break;
            if (wcbroker_session_process(session) < 0) {
                std::fprintf(stderr, "wcbrokerctl acquire: lost the connection to the bus\n");
                status = exit_failure;
                break;
            }
        }
        ::close(signal_fd);
        if (revocation.revoked) {
            if (args.common.json)
                print_json_line(toml::table{{"event", "revoked"}, {"reason", revocation.reason}});
            else
                std::printf("Revoked:    %s\n", revocation.reason.c_str());
            status = exit_no;
        }
    }
    r = wcbroker_unmap(mapping);
    if (args.common.json)
        print_json_line(toml::table{{"event", "released"}, {"status", static_cast<std::int64_t>(r)}});
    else
        std::printf("Released:   %s\n", r == 0 ? "yes" : std::strerror(-r));
    wcbroker_session_close(session);
    return status;
}

} // namespace wcbroker::cli
