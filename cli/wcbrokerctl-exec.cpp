// wcbrokerctl exec: run a program with the preload shim, so that its VFIO
// BAR mappings come from wcbrokerd (client/preload, docs/client.md).

#include "cli.hpp"
#include "verbs.hpp"

#include "wcbroker-config.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <getopt.h>
#include <string>
#include <unistd.h>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl exec [OPTIONS] [--] COMMAND [ARGUMENTS...]

Run COMMAND with libwcbroker-preload.so in LD_PRELOAD: every PCI BAR the
program maps through a VFIO device fd (DPDK, SPDK) is asked of wcbrokerd
and mapped from its leases, write-combining where the policy grants it.
BARs the policy does not grant stay VFIO's, with one line on stderr.

  --require         fail such a mapping (EACCES) instead of leaving it to
                    VFIO (WCBROKER_PRELOAD_REQUIRE=1)
  --debug           one line on stderr per decision (WCBROKER_PRELOAD_DEBUG=1)
  --preload PATH    the shim to load (default: $WCBROKERCTL_PRELOAD, else
                    )" WCBROKER_PRELOAD_PATH R"()
  --bus ADDRESS     have the program reach wcbrokerd on this bus
                    (DBUS_SYSTEM_BUS_ADDRESS)

Exit status: COMMAND's; 2 usage error, 3 the shim is not installed,
126 COMMAND cannot be run, 127 COMMAND not found.
)";

enum : int { option_require = 1000, option_debug, option_preload, option_bus_address, option_help };

// ld.so splits LD_PRELOAD at spaces and colons.
bool fits_ld_preload(const std::string& path)
{
    return path.find_first_of(": \t\n") == std::string::npos;
}

} // namespace

int run_exec(int argc, char** argv)
{
    static const struct option table[] = {
        {"require", no_argument, nullptr, option_require},
        {"debug", no_argument, nullptr, option_debug},
        {"preload", required_argument, nullptr, option_preload},
        {"bus", required_argument, nullptr, option_bus_address},
        {"help", no_argument, nullptr, option_help},
        {nullptr, 0, nullptr, 0},
    };
    bool require = false;
    bool debug = false;
    std::string preload;
    const char* bus = nullptr;
    if (const char* from_environment = std::getenv("WCBROKERCTL_PRELOAD"); from_environment && *from_environment)
        preload = from_environment;
    else
        preload = WCBROKER_PRELOAD_PATH;
    ::optind = 1;
    ::opterr = 0;
    int option = 0;
    // "+": the first non-option is COMMAND; its own options are its own.
    while ((option = ::getopt_long(argc, argv, "+", table, nullptr)) != -1) {
        switch (option) {
        case option_require:
            require = true;
            break;
        case option_debug:
            debug = true;
            break;
        case option_preload:
            preload = ::optarg;
            break;
        case option_bus_address:
            bus = ::optarg;
            break;
        case option_help:
            std::fputs(help_text, stdout);
            return exit_ok;
        default:
            return usage_error("exec", std::string("unknown option '") + argv[::optind - 1] + "'");
        }
    }
    if (::optind >= argc)
        return usage_error("exec", "give the COMMAND to run");

    char resolved[PATH_MAX];
    if (::realpath(preload.c_str(), resolved) == nullptr || ::access(resolved, R_OK) != 0)
        return failure("exec", "the preload library " + preload + " is not there (" + std::strerror(errno)
                + "): install the libwcbroker-preload package, or give --preload PATH");
    const std::string shim = resolved;
    if (!fits_ld_preload(shim))
        return failure("exec", "the preload library's path " + shim + " has a space or colon, which LD_PRELOAD cannot hold");

    // First in the list: the shim's mmap and ioctl must be the ones the
    // program's libraries bind to; what was preloaded already comes after.
    std::string list = shim;
    if (const char* existing = std::getenv("LD_PRELOAD"); existing && *existing)
        list += std::string(":") + existing;
    if (::setenv("LD_PRELOAD", list.c_str(), 1) != 0 || (require && ::setenv("WCBROKER_PRELOAD_REQUIRE", "1", 1) != 0)
        || (debug && ::setenv("WCBROKER_PRELOAD_DEBUG", "1", 1) != 0)
        || (bus != nullptr && ::setenv("DBUS_SYSTEM_BUS_ADDRESS", bus, 1) != 0))
        return failure("exec", std::string("cannot set the environment: ") + std::strerror(errno));

    ::execvp(argv[::optind], argv + ::optind);
    const int error = errno;
    std::fprintf(stderr, "wcbrokerctl exec: %s: %s\n", argv[::optind], std::strerror(error));
    return error == ENOENT ? 127 : 126;
}

} // namespace wcbroker::cli
