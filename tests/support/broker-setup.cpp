#include "broker-setup.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdlib.h>

namespace wcbroker::test {

namespace fs = std::filesystem;

fs::path make_broker_dir(const std::string& prefix)
{
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        return {};
    const fs::path dir = pattern;
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec
            | fs::perms::others_read | fs::perms::others_exec);
    fs::create_directories(dir / "policy");
    return dir;
}

void remove_broker_dir(const fs::path& dir)
{
    if (dir.empty())
        return;
    if (std::getenv("WCBROKER_KEEP_TEST_DIR") == nullptr)
        fs::remove_all(dir);
    else
        std::fprintf(stderr, "kept %s\n", dir.c_str());
}

std::vector<std::string> broker_argv(const std::string& wcbrokerd, const std::string& bus_address, const fs::path& dir,
    const std::string& sysfs_root, const std::string& log_level)
{
    return {wcbrokerd, "--bus", bus_address, "--policy-dir", (dir / "policy").string(), "--sysfs-root", sysfs_root,
        "--state-dir", (dir / "state").string(), "--udev-source", "kernel", "--log-level", log_level};
}

std::size_t open_fd_count(pid_t pid)
{
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
        ++count;
    return count;
}

} // namespace wcbroker::test
