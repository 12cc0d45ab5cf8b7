#include "sysfs-files.hpp"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wcbroker {

namespace {

// Reads and closes fd.
std::optional<std::string> read_and_close(int fd, std::size_t limit)
{
    if (fd < 0)
        return std::nullopt;
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int saved = errno;
            ::close(fd);
            errno = saved;
            return std::nullopt;
        }
        if (n == 0)
            break;
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > limit) {
            ::close(fd);
            errno = EFBIG;
            return std::nullopt;
        }
    }
    ::close(fd);
    return text;
}

std::optional<std::string> first_line(std::optional<std::string> text)
{
    if (!text)
        return std::nullopt;
    const auto newline = text->find('\n');
    if (newline != std::string::npos)
        text->resize(newline);
    return text;
}

std::optional<std::string> last_component(const char* target, ssize_t n)
{
    if (n < 0)
        return std::nullopt;
    std::string link(target, static_cast<std::size_t>(n));
    const auto slash = link.rfind('/');
    return slash == std::string::npos ? link : link.substr(slash + 1);
}

} // namespace

std::optional<std::string> read_text_file(const std::string& path, std::size_t limit)
{
    return read_and_close(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY), limit);
}

std::optional<std::string> read_attribute(const std::string& path)
{
    return first_line(read_text_file(path, 4096));
}

std::optional<std::string> read_attribute_at(int dir_fd, const char* name)
{
    return first_line(read_and_close(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW), 4096));
}

std::optional<std::string> read_link_name(const std::string& path)
{
    char target[PATH_MAX];
    return last_component(target, ::readlink(path.c_str(), target, sizeof target - 1));
}

std::optional<std::string> read_link_name_at(int dir_fd, const char* name)
{
    char target[PATH_MAX];
    return last_component(target, ::readlinkat(dir_fd, name, target, sizeof target - 1));
}

std::optional<std::vector<std::string>> list_directory(const std::string& path)
{
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr)
        return std::nullopt;
    std::vector<std::string> names;
    while (const struct dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..")
            names.push_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

bool path_exists(const std::string& path)
{
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0;
}

} // namespace wcbroker
