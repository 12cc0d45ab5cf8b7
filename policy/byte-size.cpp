#include "byte-size.hpp"

#include <array>
#include <charconv>
#include <cstdio>

namespace wcbroker {
namespace {

struct Unit {
    std::string_view suffix;
    unsigned shift;
};

constexpr std::array<Unit, 5> units{{
    {"TiB", 40},
    {"GiB", 30},
    {"MiB", 20},
    {"KiB", 10},
    {"B", 0},
}};

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

std::optional<std::uint64_t> parse_number(std::string_view digits)
{
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        digits.remove_prefix(2);
    }
    if (digits.empty())
        return std::nullopt;
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (error != std::errc() || end != digits.data() + digits.size())
        return std::nullopt;
    return value;
}

} // namespace

std::optional<std::uint64_t> parse_byte_size(std::string_view text)
{
    text = trim(text);
    unsigned shift = 0;
    for (const Unit& unit : units) {
        if (text.size() > unit.suffix.size() && text.ends_with(unit.suffix)) {
            shift = unit.shift;
            text = trim(text.substr(0, text.size() - unit.suffix.size()));
            break;
        }
    }
    auto value = parse_number(text);
    if (!value)
        return std::nullopt;
    if (shift != 0 && (*value >> (64 - shift)) != 0)
        return std::nullopt;
    return *value << shift;
}

std::string format_byte_size(std::uint64_t bytes)
{
    if (bytes == 0)
        return "0";
    for (const Unit& unit : units) {
        if (unit.shift == 0)
            break;
        const std::uint64_t mask = (std::uint64_t{1} << unit.shift) - 1;
        if ((bytes & mask) == 0)
            return std::to_string(bytes >> unit.shift) + std::string(unit.suffix);
    }
    return format_hex(bytes);
}

std::string format_hex(std::uint64_t value, int digits)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "0x%0*llx", digits, static_cast<unsigned long long>(value));
    return buffer;
}

} // namespace wcbroker
