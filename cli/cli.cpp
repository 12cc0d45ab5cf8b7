#include "cli.hpp"

#include "byte-size.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace wcbroker::cli {

int usage_error(std::string_view verb, std::string_view message)
{
    std::fprintf(stderr, "wcbrokerctl %.*s: %.*s\nTry 'wcbrokerctl %.*s --help'.\n", static_cast<int>(verb.size()),
        verb.data(), static_cast<int>(message.size()), message.data(), static_cast<int>(verb.size()), verb.data());
    return exit_usage;
}

int failure(std::string_view verb, std::string_view message)
{
    std::fprintf(stderr, "wcbrokerctl %.*s: %.*s\n", static_cast<int>(verb.size()), verb.data(),
        static_cast<int>(message.size()), message.data());
    return exit_failure;
}

std::optional<std::uint64_t> parse_number(std::string_view text)
{
    int base = 10;
    if (text.starts_with("0x") || text.starts_with("0X")) {
        base = 16;
        text.remove_prefix(2);
    }
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (text.empty() || error != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

std::optional<std::uint64_t> parse_size(std::string_view text)
{
    return parse_byte_size(text);
}

std::optional<std::string> parse_access_option(std::string_view text)
{
    if (text == "wc" || text == "write-combine")
        return "write-combine";
    if (text == "uc" || text == "uncached")
        return "uncached";
    return std::nullopt;
}

bool write_file_atomically(const std::string& path, const std::string& text, std::string& error)
{
    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        error = "cannot create " + temporary + ": " + std::strerror(errno);
        return false;
    }
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int saved_errno = errno;
    if (::close(fd) != 0 || !written) {
        error = "cannot write " + temporary + ": " + std::strerror(written ? errno : saved_errno);
        ::unlink(temporary.c_str());
        return false;
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        error = "cannot rename " + temporary + " to " + path + ": " + std::strerror(errno);
        ::unlink(temporary.c_str());
        return false;
    }
    return true;
}

void print_json(const toml::table& table)
{
    std::cout << toml::json_formatter(table) << "\n";
}

void print_json_line(const toml::table& table)
{
    std::ostringstream pretty;
    pretty << toml::json_formatter(table);
    // JSON escapes newlines inside strings, so every raw newline and the
    // indentation after it are layout and can go.
    std::string line;
    bool skipping_indent = false;
    for (char c : pretty.str()) {
        if (c == '\n') {
            skipping_indent = true;
            continue;
        }
        if (skipping_indent && c == ' ')
            continue;
        skipping_indent = false;
        line += c;
    }
    std::cout << line << std::endl;
}

} // namespace wcbroker::cli
