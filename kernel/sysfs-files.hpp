// Small helpers for reading sysfs attributes, which are tiny text files
// and symlinks that can vanish between two reads when a device goes away.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace wcbroker {

// The whole file, or nullopt with errno set. Refuses files over `limit`.
std::optional<std::string> read_text_file(const std::string& path, std::size_t limit = 1 << 20);

// The file's first line without the newline.
std::optional<std::string> read_attribute(const std::string& path);

// The last component of a symlink's target ("../../bus/pci/drivers/vfio-pci" -> "vfio-pci").
std::optional<std::string> read_link_name(const std::string& path);

// The same two, for NAME in an open directory: a device directory opened
// once keeps naming that device, whatever appears at its path later.
std::optional<std::string> read_attribute_at(int dir_fd, const char* name);
std::optional<std::string> read_link_name_at(int dir_fd, const char* name);

// Names in a directory, "." and ".." excluded, sorted; nullopt with errno set.
std::optional<std::vector<std::string>> list_directory(const std::string& path);

bool path_exists(const std::string& path);

} // namespace wcbroker
