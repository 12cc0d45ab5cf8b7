#include "cli.hpp"

#include "byte-size.hpp"
#include "device-facts.hpp"

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

std::optional<BarRange> parse_bar_range(std::string_view verb, const char* bar, const char* offset, const char* length)
{
    BarRange range;
    auto index = parse_number(bar);
    if (!index || *index > max_bar_index) {
        usage_error(verb, "BAR is an index from 0 to 5");
        return std::nullopt;
    }
    range.bar = static_cast<std::uint32_t>(*index);
    if (offset != nullptr) {
        range.offset = parse_size(offset);
        range.length = parse_size(length);
        if (!range.offset || !range.length) {
            usage_error(verb, "OFFSET and LENGTH are byte counts such as 0x1000 or 64KiB");
            return std::nullopt;
        }
    }
    return range;
}

std::optional<std::string> parse_access_option(std::string_view text)
{
    if (text == "wc" || text == "write-combine")
        return "write-combine";
    if (text == "uc" || text == "uncached")
        return "uncached";
    return std::nullopt;
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
