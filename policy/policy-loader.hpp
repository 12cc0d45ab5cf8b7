// Loading a policy: find the files, parse each, merge them, validate the
// whole, and build the lookup index. Nothing here touches the running
// daemon; a failed load simply yields diagnostics and no policy.
#pragma once

#include "diagnostics.hpp"
#include "name-resolver.hpp"
#include "policy.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace wcbroker {

struct LoadOptions {
    // check-policy treats a user or group name that does not resolve as an
    // error; the daemon only warns, because accounts can be created later
    // (a reload then picks them up).
    bool unknown_names_are_errors = true;
    std::uint64_t page_size = 4096;
    const NameResolver* names = nullptr; // nullptr: the system's NSS
};

struct LoadResult {
    std::shared_ptr<const Policy> policy; // null when there were errors
    Diagnostics diagnostics;
    std::vector<std::string> files; // every file read, in merge order
};

// Where the policy lives. Files merge in this order: `main_file`, then the
// `*.toml` files of all `dropin_dirs` together, sorted by file name.
struct PolicySources {
    std::string main_file;
    std::vector<std::string> dropin_dirs;
};

// Remembers the parse of each policy file, keyed by its exact contents, so
// that a reload re-parses only the files that changed. Parsing TOML is the
// bulk of a load (about 110 ms for a 10,000-rule file); checking names,
// references and conflicts and building the index is redone on every load,
// so accounts created since the last load still resolve.
class PolicyFileCache {
public:
    PolicyFileCache();
    ~PolicyFileCache();
    PolicyFileCache(const PolicyFileCache&) = delete;
    PolicyFileCache& operator=(const PolicyFileCache&) = delete;

    std::size_t size() const;
    std::size_t hits() const { return hits_; } // since construction, for tests and logs

    struct Entry;

private:
    friend LoadResult load_policy_from_texts(const std::vector<std::pair<std::string, std::string>>&,
        const std::string&, const LoadOptions&, PolicyFileCache*);
    std::vector<std::unique_ptr<Entry>> entries_;
    std::size_t hits_ = 0;
};

// /etc/wcbroker/policy.toml, /etc/wcbroker/policy.d, /run/wcbroker/policy.d
PolicySources default_policy_sources();

// DIR/policy.toml and DIR/policy.d: one self-contained tree, for tests,
// staging a policy before installing it, and --policy-dir.
PolicySources policy_sources_in(const std::string& dir);

LoadResult load_policy(const PolicySources& sources, const LoadOptions& options, PolicyFileCache* cache = nullptr);

// Exactly these files, merged in the order given; the first is the main
// file, the only one that may set `mode`.
LoadResult load_policy_files(const std::vector<std::string>& paths, const LoadOptions& options,
    PolicyFileCache* cache = nullptr);

// The same, from (file name, contents) pairs already in memory, merged in the
// given order, the first being the main file. Used by tests, the fuzzer, and
// load_policy_files.
LoadResult load_policy_from_texts(const std::vector<std::pair<std::string, std::string>>& files,
    const LoadOptions& options, PolicyFileCache* cache = nullptr);

// As above, naming the main file, which need not be among `files` (a policy
// may consist of drop-ins only, and then none of them may set the mode).
LoadResult load_policy_from_texts(const std::vector<std::pair<std::string, std::string>>& files,
    const std::string& main_file, const LoadOptions& options, PolicyFileCache* cache = nullptr);

} // namespace wcbroker
