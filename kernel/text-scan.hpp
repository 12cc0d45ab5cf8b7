// What the parsers of kernel text (sysfs, procfs, debugfs) and of lease
// records share: taking a line at a time, and numbers that must be the
// whole of their text.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace wcbroker {

// Removes TEXT's first line and returns it, without the newline.
inline std::string_view take_line(std::string_view& text)
{
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    return line;
}

// A sysfs or procfs value without the newline (and spaces) the kernel
// ends it with.
inline std::string trimmed(std::string text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

// TEXT as a number in BASE, when it is nothing else: no prefix, no spaces,
// no trailing characters, in range.
template <typename Number>
std::optional<Number> parse_whole_number(std::string_view text, int base = 10)
{
    Number value{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (text.empty() || error != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

} // namespace wcbroker
