// What one policy file contributes before files are merged: rules still name
// their selectors, which may live in another file.
#pragma once

#include "policy-loader.hpp"
#include "policy.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wcbroker {

struct SelectorReference {
    std::string name;
    SourceLocation where;
    std::string key; // e.g. "rule[ena-llq].devices", for messages
};

// A user or group written by name. Names resolve at merge time, not parse
// time, so a cached parse of an unchanged file still sees accounts created
// since (see PolicyFileCache).
struct NameReference {
    bool is_group = false;
    std::string name;
    SourceLocation where;
    std::string key;          // "rule[x].users", for messages
    std::size_t entry = 0;    // index into rule.users or rule.groups
};

struct RuleDraft {
    Rule rule; // rule.selectors and the ids of named subjects are filled in by the merge
    std::vector<SelectorReference> selector_refs;
    std::optional<DeviceSelector> inline_selector;
    std::vector<NameReference> names;
};

struct PolicyFragment {
    std::string file;
    std::optional<EnforcementMode> mode;
    SourceLocation mode_where;
    std::vector<DeviceSelector> selectors;
    std::vector<RuleDraft> rules;
    // Selectors defined here that had errors: references to them are not
    // reported again as "unknown selector".
    std::vector<std::string> invalid_selectors;
};

PolicyFragment parse_policy_file(const std::string& file, std::string_view text, const LoadOptions& options,
    Diagnostics& diagnostics);

// Resolves names with options.names and reports unknown ones as errors or
// warnings per options.unknown_names_are_errors. Only the fragment of
// `main_file` may set the mode.
std::shared_ptr<const Policy> merge_policy_fragments(const std::vector<const PolicyFragment*>& fragments,
    const std::string& main_file, const LoadOptions& options, Diagnostics& diagnostics);

} // namespace wcbroker
