// Finding and reading policy files. The only I/O the policy library does.

#include "policy-directories.hpp"
#include "policy-fragment.hpp"
#include "policy-loader.hpp"

#include "wcbroker-config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace wcbroker {
namespace {

// Far above any real policy (10,000 rules is about 2 MiB) and far below
// what would hurt the daemon to hold in memory.
constexpr off_t max_policy_file_size = 64 << 20;

std::string errno_text(int error)
{
    return std::strerror(error);
}

// A policy file others can write is a way for them to grant themselves
// device memory, so it is refused like sshd refuses a loose authorized_keys.
bool check_ownership(const std::string& path, const struct stat& info, Diagnostics& diagnostics)
{
    if (info.st_uid != 0 && info.st_uid != ::geteuid()) {
        diagnostics.error({path, 0, 0}, "",
            "owned by uid " + std::to_string(info.st_uid)
                + ", who could grant themselves device memory through it; make root the owner (chown root)");
        return false;
    }
    if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
        diagnostics.error({path, 0, 0}, "",
            std::string("writable by group or others (mode ") + mode
                + "), who could grant themselves device memory through it; run chmod go-w on it");
        return false;
    }
    return true;
}

std::optional<std::string> read_policy_file(const std::string& path, Diagnostics& diagnostics)
{
    // A link would make the file's trust that of wherever it points, which
    // the directory check did not look at.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0) {
        const int error = errno;
        if (error == ELOOP) {
            diagnostics.error({path, 0, 0}, "",
                "is a symbolic link; policy files are read only as plain files, so copy the file here instead");
        } else {
            diagnostics.error({path, 0, 0}, "", "cannot open policy file: " + errno_text(error));
        }
        return std::nullopt;
    }
    struct stat info {};
    std::optional<std::string> text;
    if (::fstat(fd, &info) != 0) {
        diagnostics.error({path, 0, 0}, "", "cannot stat policy file: " + errno_text(errno));
    } else if (!S_ISREG(info.st_mode)) {
        diagnostics.error({path, 0, 0}, "", "not a regular file; a policy file must be a plain .toml file");
    } else if (info.st_size > max_policy_file_size) {
        diagnostics.error({path, 0, 0}, "", "larger than 64 MiB; this is not a policy file");
    } else if (check_ownership(path, info, diagnostics)) {
        std::string contents;
        char buffer[65536];
        for (;;) {
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                diagnostics.error({path, 0, 0}, "", "cannot read policy file: " + errno_text(errno));
                break;
            }
            if (n == 0) {
                text = std::move(contents);
                break;
            }
            contents.append(buffer, static_cast<std::size_t>(n));
            if (contents.size() > static_cast<std::size_t>(max_policy_file_size)) {
                diagnostics.error({path, 0, 0}, "", "grew past 64 MiB while being read");
                break;
            }
        }
    }
    ::close(fd);
    return text;
}

// Drop-in file names from all directories, sorted by name. The same name in
// two directories is an error: systemd would let one hide the other, but a
// policy must not change by a file silently shadowing another.
std::vector<std::string> list_dropins(const std::vector<std::string>& dirs, Diagnostics& diagnostics)
{
    std::map<std::string, std::string> path_by_name;
    for (const std::string& dir : dirs) {
        DIR* handle = ::opendir(dir.c_str());
        if (handle == nullptr) {
            if (errno != ENOENT)
                diagnostics.error({dir, 0, 0}, "", "cannot list drop-in directory: " + errno_text(errno));
            continue;
        }
        while (const struct dirent* entry = ::readdir(handle)) {
            const std::string name = entry->d_name;
            if (name.starts_with(".") || !name.ends_with(".toml"))
                continue;
            const std::string path = dir + "/" + name;
            auto [existing, inserted] = path_by_name.emplace(name, path);
            if (!inserted) {
                diagnostics.error({path, 0, 0}, "",
                    "a drop-in named " + name + " also exists as " + existing->second
                        + "; drop-ins add to each other and never replace one another, so rename one");
            }
        }
        ::closedir(handle);
    }
    std::vector<std::string> paths;
    for (auto& [name, path] : path_by_name)
        paths.push_back(path);
    return paths;
}

} // namespace

PolicySources default_policy_sources()
{
    const std::string etc = std::string(WCBROKER_SYSCONFDIR) + "/wcbroker";
    const std::string run = std::string(WCBROKER_RUNSTATEDIR) + "/wcbroker";
    return {etc + "/policy.toml", {etc + "/policy.d", run + "/policy.d"}};
}

PolicySources policy_sources_in(const std::string& dir)
{
    return {dir + "/policy.toml", {dir + "/policy.d"}};
}

namespace {

LoadResult read_and_load(const std::vector<std::string>& paths, const std::string& main_file, Diagnostics discovery,
    const LoadOptions& options, PolicyFileCache* cache)
{
    std::vector<std::pair<std::string, std::string>> texts;
    PolicyDirectoryCheck directories;
    for (const std::string& path : paths) {
        if (!directories.trusted(path, discovery))
            continue;
        if (auto text = read_policy_file(path, discovery))
            texts.emplace_back(path, std::move(*text));
    }
    LoadResult result = load_policy_from_texts(texts, main_file, options, cache);
    for (const Diagnostic& diagnostic : discovery.all()) {
        if (diagnostic.severity == Severity::Error)
            result.diagnostics.error(diagnostic.where, diagnostic.key, diagnostic.message);
    }
    if (discovery.has_errors())
        result.policy = nullptr;
    result.files = paths;
    result.diagnostics.sort(paths);
    return result;
}

} // namespace

LoadResult load_policy(const PolicySources& sources, const LoadOptions& options, PolicyFileCache* cache)
{
    Diagnostics discovery;
    std::vector<std::string> paths;
    struct stat info {};
    if (::lstat(sources.main_file.c_str(), &info) == 0 || errno != ENOENT)
        paths.push_back(sources.main_file);
    for (std::string& dropin : list_dropins(sources.dropin_dirs, discovery))
        paths.push_back(std::move(dropin));
    return read_and_load(paths, sources.main_file, std::move(discovery), options, cache);
}

LoadResult load_policy_files(const std::vector<std::string>& paths, const LoadOptions& options, PolicyFileCache* cache)
{
    return read_and_load(paths, paths.empty() ? std::string() : paths.front(), Diagnostics(), options, cache);
}

struct PolicyFileCache::Entry {
    std::string file;
    std::string contents;
    std::uint64_t page_size = 0;
    PolicyFragment fragment;
    Diagnostics diagnostics; // what parsing said, replayed on every hit
};

PolicyFileCache::PolicyFileCache() = default;
PolicyFileCache::~PolicyFileCache() = default;

std::size_t PolicyFileCache::size() const
{
    return entries_.size();
}

LoadResult load_policy_from_texts(const std::vector<std::pair<std::string, std::string>>& files,
    const LoadOptions& options, PolicyFileCache* cache)
{
    return load_policy_from_texts(files, files.empty() ? std::string() : files.front().first, options, cache);
}

LoadResult load_policy_from_texts(const std::vector<std::pair<std::string, std::string>>& files,
    const std::string& main_file, const LoadOptions& options, PolicyFileCache* cache)
{
    LoadResult result;
    // Parses land here when there is no cache to keep them in.
    std::vector<std::unique_ptr<PolicyFileCache::Entry>> parsed;
    std::vector<const PolicyFileCache::Entry*> used;
    for (const auto& [name, text] : files) {
        result.files.push_back(name);
        const PolicyFileCache::Entry* entry = nullptr;
        if (cache != nullptr) {
            for (const auto& cached : cache->entries_) {
                if (cached->file == name && cached->page_size == options.page_size && cached->contents == text) {
                    entry = cached.get();
                    ++cache->hits_;
                    break;
                }
            }
        }
        if (entry == nullptr) {
            auto fresh = std::make_unique<PolicyFileCache::Entry>();
            fresh->file = name;
            fresh->contents = text;
            fresh->page_size = options.page_size;
            fresh->fragment = parse_policy_file(name, text, options, fresh->diagnostics);
            entry = fresh.get();
            parsed.push_back(std::move(fresh));
        }
        used.push_back(entry);
        result.diagnostics.append(entry->diagnostics);
    }
    std::vector<const PolicyFragment*> fragments;
    for (const PolicyFileCache::Entry* entry : used)
        fragments.push_back(&entry->fragment);
    result.policy = merge_policy_fragments(fragments, main_file, options, result.diagnostics);
    if (result.diagnostics.has_errors())
        result.policy = nullptr;
    result.diagnostics.sort(result.files);

    if (cache != nullptr) {
        // Keep exactly the files of this load: the ones just used plus fresh parses.
        std::vector<std::unique_ptr<PolicyFileCache::Entry>> kept;
        for (auto& cached : cache->entries_) {
            if (std::find(used.begin(), used.end(), cached.get()) != used.end())
                kept.push_back(std::move(cached));
        }
        for (auto& fresh : parsed)
            kept.push_back(std::move(fresh));
        cache->entries_ = std::move(kept);
    }
    return result;
}

} // namespace wcbroker
