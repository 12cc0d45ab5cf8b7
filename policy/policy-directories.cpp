// Walking up from a policy file to /, as sshd's StrictModes does.

#include "policy-directories.hpp"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace wcbroker {
namespace {

std::string parent_of(const std::string& path)
{
    const std::size_t slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    if (slash == 0)
        return "/";
    return path.substr(0, slash);
}

std::optional<std::string> problem_with(const struct stat& info, bool holds_file)
{
    if (!S_ISDIR(info.st_mode))
        return std::string("is not a directory");
    if (info.st_uid != 0 && info.st_uid != ::geteuid())
        return "is owned by uid " + std::to_string(info.st_uid) + ", who could replace the policy file; chown root";
    const bool others_write = (info.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    // In a sticky directory only an entry's owner may rename or remove it,
    // so a root-owned directory below it stays root's.
    if (others_write && (holds_file || (info.st_mode & S_ISVTX) == 0)) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
        return std::string("is writable by group or others (mode ") + mode
            + "), who could replace the policy file; run chmod go-w on it";
    }
    return std::nullopt;
}

} // namespace

bool PolicyDirectoryCheck::trusted(const std::string& file, Diagnostics& diagnostics)
{
    // The real path: a symbolic link to a directory elsewhere is judged by
    // where it leads (the link itself sits in a directory checked below).
    char resolved[PATH_MAX];
    if (::realpath(parent_of(file).c_str(), resolved) == nullptr) {
        diagnostics.error({file, 0, 0}, "",
            "cannot resolve the directory holding the policy file: " + std::string(std::strerror(errno)));
        return false;
    }
    std::string directory = resolved;
    bool holds_file = true;
    for (;;) {
        auto known = verdict_by_directory_.find(directory);
        if (known != verdict_by_directory_.end()) {
            if (!known->second)
                return false;
        } else {
            struct stat info {};
            std::optional<std::string> problem;
            if (::lstat(directory.c_str(), &info) != 0)
                problem = "cannot be checked: " + std::string(std::strerror(errno));
            else
                problem = problem_with(info, holds_file);
            // A holding directory is judged more strictly than an ancestor,
            // so only ancestors' verdicts are shared between files.
            if (!holds_file || problem)
                verdict_by_directory_[directory] = !problem;
            if (problem) {
                diagnostics.error({file, 0, 0}, "",
                    "the directory " + directory + (holds_file ? " holding it " : " above it ") + *problem);
                return false;
            }
        }
        if (directory == "/")
            return true;
        directory = parent_of(directory);
        holds_file = false;
    }
}

} // namespace wcbroker
