#include "pci-resource-file.hpp"

#include "text-scan.hpp"

#include <charconv>

namespace wcbroker {
namespace {

constexpr std::uint32_t bar_count = 6;

bool parse_hex_field(std::string_view& line, std::uint64_t& value)
{
    while (!line.empty() && line.front() == ' ')
        line.remove_prefix(1);
    if (!line.starts_with("0x"))
        return false;
    line.remove_prefix(2);
    auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), value, 16);
    if (error != std::errc() || end == line.data())
        return false;
    line.remove_prefix(static_cast<std::size_t>(end - line.data()));
    return true;
}

} // namespace

std::optional<std::vector<BarFacts>> parse_pci_resource_file(std::string_view text)
{
    std::vector<BarFacts> bars;
    std::uint32_t index = 0;
    while (!text.empty() && index < bar_count) {
        std::string_view line = take_line(text);

        std::uint64_t start = 0;
        std::uint64_t end = 0;
        std::uint64_t flags = 0;
        if (!parse_hex_field(line, start) || !parse_hex_field(line, end) || !parse_hex_field(line, flags))
            return std::nullopt;
        while (!line.empty() && (line.front() == ' ' || line.front() == '\r'))
            line.remove_prefix(1);
        if (!line.empty() || end < start)
            return std::nullopt;

        const std::uint32_t this_index = index++;
        if (start == 0 && end == 0)
            continue; // BAR not implemented
        if ((flags & (ioresource_io | ioresource_mem)) == 0)
            continue; // e.g. the upper half of a 64-bit BAR
        BarFacts bar;
        bar.index = this_index;
        bar.start = start;
        bar.size = end - start + 1; // end is inclusive
        if (bar.size == 0)
            continue; // a range covering all of 64 bits is not a BAR
        bar.flags = flags;
        if ((flags & ioresource_io) != 0)
            bar.kind = BarKind::Io;
        else
            bar.kind = (flags & ioresource_mem_64) != 0 ? BarKind::Memory64 : BarKind::Memory32;
        bar.prefetchable = bar.kind != BarKind::Io && (flags & ioresource_prefetch) != 0;
        bars.push_back(bar);
    }
    return bars;
}

} // namespace wcbroker
