#include "pci-address.hpp"

#include <cctype>
#include <fnmatch.h>

namespace wcbroker {
namespace {

bool is_hex(char c)
{
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

bool is_glob_char(char c)
{
    return c == '*' || c == '?' || c == '[' || c == ']' || c == '-' || c == '!';
}

std::string to_lower(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

} // namespace

std::optional<std::string> canonical_pci_address(std::string_view text)
{
    // Field widths of "0000:00:00.0" and the separator after each field.
    static constexpr std::string_view shape = "hhhh:hh:hh.h";
    if (text.size() != shape.size())
        return std::nullopt;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 'h' ? !is_hex(text[i]) : text[i] != shape[i])
            return std::nullopt;
    }
    // The function number is three bits.
    if (text.back() > '7')
        return std::nullopt;
    // Device number is five bits: 00-1f.
    std::string lower = to_lower(text);
    if (lower[8] > '1')
        return std::nullopt;
    return lower;
}

std::optional<std::string> canonical_pci_address_glob(std::string_view pattern)
{
    if (pattern.empty() || pattern.size() > 64)
        return std::nullopt;
    int colons = 0;
    int dots = 0;
    bool field_empty = true;
    for (char c : pattern) {
        if (c == ':' || c == '.') {
            // Separators must come in the order ':' ':' '.' and split non-empty fields.
            if (field_empty)
                return std::nullopt;
            if (c == ':' && (colons == 2 || dots != 0))
                return std::nullopt;
            if (c == '.' && (colons != 2 || dots != 0))
                return std::nullopt;
            (c == ':' ? colons : dots)++;
            field_empty = true;
            continue;
        }
        if (!is_hex(c) && !is_glob_char(c))
            return std::nullopt;
        field_empty = false;
    }
    if (colons != 2 || dots != 1 || field_empty)
        return std::nullopt;
    return to_lower(pattern);
}

bool pci_address_matches(std::string_view glob, std::string_view address)
{
    if (glob.find_first_of("*?[") == std::string_view::npos)
        return glob == address;
    // fnmatch needs NUL-terminated strings; both are short.
    const std::string pattern(glob);
    const std::string subject(address);
    return ::fnmatch(pattern.c_str(), subject.c_str(), 0) == 0;
}

} // namespace wcbroker
