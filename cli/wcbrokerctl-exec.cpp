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
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
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

A set-user-ID or set-group-ID COMMAND, or one with file capabilities,
runs in secure-execution mode, where the dynamic loader ignores the shim:
exec says so on stderr (and with --require does not run it).

Exit status: COMMAND's; 2 usage error, 3 the shim is not installed or
cannot be loaded into COMMAND, 126 COMMAND cannot be run, 127 COMMAND not
found.
)";

enum : int { option_require = 1000, option_debug, option_preload, option_bus_address, option_help };

// ld.so splits LD_PRELOAD at spaces and colons.
bool fits_ld_preload(const std::string& path)
{
    return path.find_first_of(": \t\n") == std::string::npos;
}

// The file execvp() would run: NAME itself when it has a slash, else the
// first executable NAME along $PATH (the C library's default without one).
std::optional<std::string> command_file(const std::string& name)
{
    if (name.find('/') != std::string::npos)
        return name;
    const char* path = std::getenv("PATH");
    std::string_view directories = path != nullptr ? path : "/bin:/usr/bin";
    while (true) {
        const auto colon = directories.find(':');
        const std::string_view directory = directories.substr(0, colon);
        const std::string candidate = (directory.empty() ? std::string(".") : std::string(directory)) + "/" + name;
        struct stat status{};
        if (::stat(candidate.c_str(), &status) == 0 && S_ISREG(status.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
        if (colon == std::string_view::npos)
            return std::nullopt;
        directories.remove_prefix(colon + 1);
    }
}

// Why the kernel will run FILE in secure-execution mode (AT_SECURE) for
// this user, where ld.so ignores an LD_PRELOAD path with a slash; nullopt
// when it will not. File capabilities count for anyone but root, who
// gains none from them.
std::optional<std::string> secure_execution_reason(const std::string& file)
{
    struct stat status{};
    struct statvfs mount{};
    if (::stat(file.c_str(), &status) != 0)
        return std::nullopt;
    const bool nosuid = ::statvfs(file.c_str(), &mount) == 0 && (mount.f_flag & ST_NOSUID) != 0;
    if (nosuid) // the kernel honours neither bit nor capabilities there
        return std::nullopt;
    if ((status.st_mode & S_ISUID) != 0 && status.st_uid != ::getuid())
        return "is set-user-ID";
    if ((status.st_mode & S_ISGID) != 0 && (status.st_mode & S_IXGRP) != 0 && status.st_gid != ::getgid())
        return "is set-group-ID";
    if (::getuid() != 0 && ::getxattr(file.c_str(), "security.capability", nullptr, 0) > 0)
        return "has file capabilities";
    return std::nullopt;
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

    if (const auto file = command_file(argv[::optind])) {
        if (const auto reason = secure_execution_reason(*file)) {
            const std::string why = *file + " " + *reason
                + ": the dynamic loader ignores LD_PRELOAD for it, so the shim is not loaded and its BARs stay "
                  "VFIO's (uncached); run it without them, with access to its VFIO group instead";
            if (require)
                return failure("exec", why);
            std::fprintf(stderr, "wcbrokerctl exec: %s\n", why.c_str());
        }
    }

    ::execvp(argv[::optind], argv + ::optind);
    const int error = errno;
    std::fprintf(stderr, "wcbrokerctl exec: %s: %s\n", argv[::optind], std::strerror(error));
    return error == ENOENT ? 127 : 126;
}

} // namespace wcbroker::cli
