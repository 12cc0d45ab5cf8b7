// Whether the directories above a policy file let only root replace it:
// sshd's StrictModes, applied to every directory from the file up to /.
#pragma once

#include "diagnostics.hpp"

#include <map>
#include <string>

namespace wcbroker {

class PolicyDirectoryCheck {
public:
    // True when every directory from `file`'s own up to / is owned by root
    // (or the user running the check) and writable by nobody else. An
    // ancestor may be writable by others when it is sticky (like /tmp): there
    // nobody but the owner of an entry can rename or remove it. The
    // directory holding the file must never be writable by others. Each
    // problem is reported once per load, on the first file it affects.
    bool trusted(const std::string& file, Diagnostics& diagnostics);

private:
    std::map<std::string, bool> verdict_by_directory_;
};

} // namespace wcbroker
