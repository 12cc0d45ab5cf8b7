// libFuzzer target: arbitrary bytes as /sys/kernel/debug/x86/pat_memtype_list
// (parse_pat_memtype_list), then effective_memtype() on ranges: the one the
// input's first line names ("START LENGTH", hex, "0x" optional; a line the
// parser skips as it is in neither format), and for the first entries their
// own range, their first and last byte, a range one page wider each side,
// and the span from one entry to the next.
//
// Beyond "no crash":
// - every entry has start < end and a type whose name reads back as itself;
// - the entries written back in either format parse to the same list;
// - effective_memtype() agrees with a slow reference built from its
//   contract: one type among all overlapping entries, which cover every
//   byte; otherwise unverified (so never write-combining on a hole);
// - a range with a verified type gives that type for its first and last byte.

#include "fuzz-query.hpp"
#include "pat-memtype-list.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using wcbroker::Memtype;
using wcbroker::PatEntry;

bool same(const std::vector<PatEntry>& a, const std::vector<PatEntry>& b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].start != b[i].start || a[i].end != b[i].end || a[i].type != b[i].type)
            return false;
    }
    return true;
}

std::string serialize(const std::vector<PatEntry>& entries, bool old_format)
{
    std::string text = "PAT memtype list:\n";
    for (const PatEntry& entry : entries) {
        const std::string type(wcbroker::memtype_name(entry.type));
        char line[160];
        if (old_format)
            std::snprintf(line, sizeof line, "%s @ 0x%llx-0x%llx\n", type.c_str(),
                static_cast<unsigned long long>(entry.start), static_cast<unsigned long long>(entry.end));
        else
            std::snprintf(line, sizeof line, "PAT: [mem 0x%016llx-0x%016llx] %s\n",
                static_cast<unsigned long long>(entry.start), static_cast<unsigned long long>(entry.end), type.c_str());
        text += line;
    }
    return text;
}

// Straight from the header's contract, by walking the coverage forward.
Memtype reference(const std::vector<PatEntry>& entries, std::uint64_t start, std::uint64_t length)
{
    if (length == 0 || length > UINT64_MAX - start)
        return Memtype::Unverified;
    const std::uint64_t end = start + length;
    std::optional<Memtype> type;
    for (const PatEntry& entry : entries) {
        if (entry.end <= start || entry.start >= end)
            continue;
        if (type && *type != entry.type)
            return Memtype::Unverified;
        type = entry.type;
    }
    if (!type)
        return Memtype::Unverified;
    std::uint64_t covered = start;
    while (covered < end) {
        std::uint64_t reach = covered;
        for (const PatEntry& entry : entries) {
            if (entry.start <= covered && entry.end > reach)
                reach = entry.end;
        }
        if (reach == covered)
            return Memtype::Unverified; // byte `covered` is in no entry
        covered = reach;
    }
    return *type;
}

void query(const std::vector<PatEntry>& entries, std::uint64_t start, std::uint64_t length)
{
    const Memtype type = wcbroker::effective_memtype(entries, start, length);
    if (type != reference(entries, start, length))
        std::abort();
    if (type == Memtype::Unverified)
        return;
    if (wcbroker::effective_memtype(entries, start, 1) != type
        || wcbroker::effective_memtype(entries, start + length - 1, 1) != type)
        std::abort();
}


} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::vector<PatEntry> entries = wcbroker::parse_pat_memtype_list(input);

    for (const PatEntry& entry : entries) {
        if (entry.start >= entry.end)
            std::abort();
        if (wcbroker::parse_memtype_name(wcbroker::memtype_name(entry.type)) != entry.type)
            std::abort();
    }
    if (!same(wcbroker::parse_pat_memtype_list(serialize(entries, false)), entries)
        || !same(wcbroker::parse_pat_memtype_list(serialize(entries, true)), entries))
        std::abort();

    std::string_view first_line = input.substr(0, input.find('\n'));
    const auto start = wcbroker::fuzz::consume_hex(first_line);
    const auto length = wcbroker::fuzz::consume_hex(first_line);
    if (start && length)
        query(entries, *start, *length);

    constexpr std::size_t page = 4096;
    const std::size_t n = std::min<std::size_t>(entries.size(), 16);
    for (std::size_t i = 0; i < n; ++i) {
        const PatEntry& entry = entries[i];
        query(entries, entry.start, entry.end - entry.start);
        query(entries, entry.start, 1);
        query(entries, entry.end - 1, 1);
        if (entry.start >= page && entry.end <= UINT64_MAX - page)
            query(entries, entry.start - page, entry.end - entry.start + 2 * page);
        if (i + 1 < entries.size() && entries[i + 1].end > entry.start)
            query(entries, entry.start, entries[i + 1].end - entry.start);
    }
    return 0;
}
