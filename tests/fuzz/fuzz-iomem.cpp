// libFuzzer target: arbitrary bytes as /proc/iomem (parse_iomem), then
// bar_claimant() on queries: the one the input's first line names
// ("ADDRESS START SIZE", hex; a line the parser skips), and for the first
// entries, their own name and range, their first byte and their last.
//
// Beyond "no crash":
// - every entry has start <= end, a name without a newline or trailing
//   blanks, and an indentation the input has room for (no more entries
//   than lines);
// - the entries written back with the kernel's layout (two spaces a level,
//   "start-end : name") parse to the same list;
// - bar_claimant() agrees with a slow restatement of its contract: the first
//   entry nested under (after, and deeper than everything in between) an
//   entry named ADDRESS, both overlapping the range. Queries are kept from
//   running past 2^64, as a BAR read from the resource file never does.

#include "fuzz-query.hpp"
#include "iomem.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using wcbroker::IomemEntry;

bool same(const std::vector<IomemEntry>& a, const std::vector<IomemEntry>& b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].start != b[i].start || a[i].end != b[i].end || a[i].name != b[i].name || a[i].depth != b[i].depth)
            return false;
    }
    return true;
}

std::string serialize(const std::vector<IomemEntry>& entries)
{
    std::string text;
    for (const IomemEntry& entry : entries) {
        char range[64];
        std::snprintf(range, sizeof range, "%08llx-%08llx : ", static_cast<unsigned long long>(entry.start),
            static_cast<unsigned long long>(entry.end));
        text += std::string(2 * std::size_t{entry.depth}, ' ') + range + entry.name + "\n";
    }
    return text;
}

bool overlaps(const IomemEntry& entry, std::uint64_t start, std::uint64_t size)
{
    // [start, start + size) against the inclusive [entry.start, entry.end],
    // without forming start + size.
    return entry.end >= start && (entry.start <= start || entry.start - start < size);
}

std::optional<std::string> reference(const std::vector<IomemEntry>& entries, std::string_view address,
    std::uint64_t start, std::uint64_t size)
{
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].name != address || !overlaps(entries[i], start, size))
            continue;
        for (std::size_t j = i + 1; j < entries.size(); ++j) {
            if (entries[j].depth <= entries[i].depth)
                break; // left the subtree
            if (overlaps(entries[j], start, size))
                return entries[j].name;
        }
    }
    return std::nullopt;
}

void query(const std::vector<IomemEntry>& entries, std::string_view address, std::uint64_t start, std::uint64_t size)
{
    if (size > 0 && size - 1 > UINT64_MAX - start)
        size = UINT64_MAX - start + (start != 0 ? 1 : 0); // up to the top of the address space
    if (size == 0)
        return;
    if (wcbroker::bar_claimant(entries, address, start, size) != reference(entries, address, start, size))
        std::abort();
}


} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::vector<IomemEntry> entries = wcbroker::parse_iomem(input);

    const auto lines = static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n')) + 1;
    if (entries.size() > lines)
        std::abort();
    for (const IomemEntry& entry : entries) {
        if (entry.start > entry.end || 2 * std::size_t{entry.depth} >= size)
            std::abort();
        if (entry.name.find('\n') != std::string::npos
            || (!entry.name.empty() && (entry.name.back() == ' ' || entry.name.back() == '\r')))
            std::abort();
    }
    if (!same(wcbroker::parse_iomem(serialize(entries)), entries))
        std::abort();

    std::string_view first_line = input.substr(0, input.find('\n'));
    const std::string_view address = first_line.substr(0, first_line.find(' '));
    first_line.remove_prefix(address.size());
    const auto start = wcbroker::fuzz::consume_hex(first_line);
    const auto length = wcbroker::fuzz::consume_hex(first_line);
    if (start && length)
        query(entries, address, *start, *length);

    const std::size_t n = std::min<std::size_t>(entries.size(), 16);
    for (std::size_t i = 0; i < n; ++i) {
        const IomemEntry& entry = entries[i];
        query(entries, entry.name, entry.start, entry.end - entry.start + 1);
        query(entries, entry.name, entry.start, 1);
        query(entries, entry.name, entry.end, 1);
    }
    return 0;
}
