// Replacing a file so that its readers (a restarted wcbrokerd, udev, a
// container runtime) see the old contents or the new, never half a file.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

namespace wcbroker {

// Writes TEXT to PATH.tmp, created with MODE (never through a symlink), and
// renames it over PATH. On failure PATH is as it was, the temporary is gone,
// and the result says which step failed, naming the file and the error; ""
// on success.
std::string write_file_atomically(const std::string& path, std::string_view text, mode_t mode);

} // namespace wcbroker
