#include "pat-memtype-list.hpp"

#include "text-scan.hpp"

#include <algorithm>

namespace wcbroker {
namespace {

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

// "0x" and hex digits, nothing else.
std::optional<std::uint64_t> parse_hex(std::string_view text)
{
    if (!text.starts_with("0x"))
        return std::nullopt;
    return parse_whole_number<std::uint64_t>(text.substr(2), 16);
}

// "0xSTART-0xEND"
bool parse_span(std::string_view text, PatEntry& entry)
{
    const auto dash = text.find('-');
    if (dash == std::string_view::npos)
        return false;
    const auto start = parse_hex(text.substr(0, dash));
    const auto end = parse_hex(text.substr(dash + 1));
    if (!start || !end || *start >= *end)
        return false;
    entry.start = *start;
    entry.end = *end;
    return true;
}

bool parse_line(std::string_view line, PatEntry& entry)
{
    line = trim(line);
    if (line.starts_with("PAT: [mem ")) {
        const auto close = line.find(']');
        if (close == std::string_view::npos)
            return false;
        auto type = parse_memtype_name(trim(line.substr(close + 1)));
        if (!type || !parse_span(line.substr(10, close - 10), entry))
            return false;
        entry.type = *type;
        return true;
    }
    const auto at = line.find(" @ ");
    if (at == std::string_view::npos)
        return false;
    auto type = parse_memtype_name(trim(line.substr(0, at)));
    if (!type || !parse_span(trim(line.substr(at + 3)), entry))
        return false;
    entry.type = *type;
    return true;
}

} // namespace

std::vector<PatEntry> parse_pat_memtype_list(std::string_view text)
{
    std::vector<PatEntry> entries;
    while (!text.empty()) {
        const std::string_view line = take_line(text);
        PatEntry entry;
        if (parse_line(line, entry))
            entries.push_back(entry);
    }
    return entries;
}

Memtype effective_memtype(const std::vector<PatEntry>& entries, std::uint64_t start, std::uint64_t length)
{
    if (length == 0 || start + length < start)
        return Memtype::Unverified;
    const std::uint64_t end = start + length;
    std::vector<PatEntry> overlapping;
    for (const PatEntry& entry : entries) {
        if (entry.start < end && start < entry.end)
            overlapping.push_back(entry);
    }
    if (overlapping.empty())
        return Memtype::Unverified;
    const Memtype type = overlapping.front().type;
    if (!std::all_of(overlapping.begin(), overlapping.end(), [&](const PatEntry& e) { return e.type == type; }))
        return Memtype::Unverified;
    std::sort(overlapping.begin(), overlapping.end(), [](const PatEntry& a, const PatEntry& b) { return a.start < b.start; });
    std::uint64_t covered = start;
    for (const PatEntry& entry : overlapping) {
        if (entry.start > covered)
            return Memtype::Unverified; // a hole
        covered = std::max(covered, entry.end);
    }
    return covered >= end ? type : Memtype::Unverified;
}

} // namespace wcbroker
