// What the parser fuzzers share: reading the query a fuzz input's first
// line names ("START LENGTH" in hex), so that the fuzzer, not a fixed test
// list, chooses the ranges the answers are checked on.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wcbroker::fuzz {

// The next hex number in `text` (blanks and a "0x" skipped), consumed.
inline std::optional<std::uint64_t> consume_hex(std::string_view& text)
{
    while (!text.empty() && text.front() == ' ')
        text.remove_prefix(1);
    if (text.starts_with("0x"))
        text.remove_prefix(2);
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (error != std::errc())
        return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    return value;
}

} // namespace wcbroker::fuzz
