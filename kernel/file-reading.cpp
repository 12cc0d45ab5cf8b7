#include "file-reading.hpp"

#include "sysfs-files.hpp"

#include <cerrno>
#include <cstring>

namespace wcbroker {

bool FileReading::needs_root() const
{
    return !text && (error == EACCES || error == EPERM);
}

bool FileReading::missing() const
{
    return !text && (error == ENOENT || error == ENOTDIR);
}

std::string FileReading::why_unreadable() const
{
    if (needs_root())
        return std::string("needs root (") + std::strerror(error) + ")";
    if (missing())
        return "not there";
    return std::strerror(error);
}

FileReading read_file_reading(const std::string& path, std::size_t limit)
{
    FileReading reading;
    reading.path = path;
    reading.text = read_text_file(path, limit);
    reading.error = reading.text ? 0 : errno;
    return reading;
}

} // namespace wcbroker
