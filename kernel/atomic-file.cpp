#include "atomic-file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace wcbroker {

std::string write_file_atomically(const std::string& path, std::string_view text, mode_t mode)
{
    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return "cannot create " + temporary + ": " + std::strerror(errno);
    const ssize_t written = ::write(fd, text.data(), text.size());
    int error = written < 0 ? errno : written != static_cast<ssize_t>(text.size()) ? ENOSPC : 0;
    if (::close(fd) != 0 && error == 0)
        error = errno;
    std::string failure;
    if (error != 0)
        failure = "cannot write " + temporary + ": " + std::strerror(error);
    else if (::rename(temporary.c_str(), path.c_str()) != 0)
        failure = "cannot rename " + temporary + " to " + path + ": " + std::strerror(errno);
    if (!failure.empty())
        ::unlink(temporary.c_str());
    return failure;
}

} // namespace wcbroker
