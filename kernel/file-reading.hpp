// A kernel file read for a diagnosis: what was read, from where, or why it
// could not be. wcbrokerctl doctor shows the path and the value as its
// evidence, and tells "needs root" apart from "not there".
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace wcbroker {

struct FileReading {
    std::string path;
    std::optional<std::string> text; // nullopt when it could not be read
    int error = 0;                   // errno, when text is nullopt

    bool readable() const { return text.has_value(); }
    bool needs_root() const; // EACCES or EPERM
    bool missing() const;    // ENOENT or ENOTDIR
    // "needs root (Permission denied)", "not there", or strerror.
    std::string why_unreadable() const;
};

FileReading read_file_reading(const std::string& path, std::size_t limit = 1 << 20);

} // namespace wcbroker
