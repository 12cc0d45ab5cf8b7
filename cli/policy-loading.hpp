// How every offline wcbrokerctl verb finds and loads a policy: the system
// locations, --policy-dir DIR, or an explicit list of files.
#pragma once

#include "policy-loader.hpp"

#include <optional>
#include <string>
#include <vector>

namespace wcbroker::cli {

struct PolicyChoice {
    std::optional<std::string> directory; // --policy-dir
    std::vector<std::string> files;       // FILE arguments or --policy
};

// Loads the chosen policy with this machine's page size. check-policy makes
// unknown user and group names errors; verbs that predict the daemon's
// behaviour keep them warnings, as the daemon does.
LoadResult load_chosen_policy(const PolicyChoice& choice, bool unknown_names_are_errors);

// Every error and warning, one FILE:LINE:COLUMN line each, on stderr.
void print_diagnostics(const Diagnostics& diagnostics);

} // namespace wcbroker::cli
