#include "iomem.hpp"

#include "text-scan.hpp"

#include <cstdint>

namespace wcbroker {
namespace {

bool parse_line(std::string_view line, IomemEntry& entry)
{
    unsigned spaces = 0;
    while (spaces < line.size() && line[spaces] == ' ')
        ++spaces;
    line.remove_prefix(spaces);
    const auto dash = line.find('-');
    const auto colon = line.find(" : ");
    if (dash == std::string_view::npos || colon == std::string_view::npos || dash > colon)
        return false;
    const auto start = parse_whole_number<std::uint64_t>(line.substr(0, dash), 16);
    const auto end = parse_whole_number<std::uint64_t>(line.substr(dash + 1, colon - dash - 1), 16);
    if (!start || !end || *end < *start)
        return false;
    entry.start = *start;
    entry.end = *end;
    std::string_view name = line.substr(colon + 3);
    while (!name.empty() && (name.back() == '\r' || name.back() == ' '))
        name.remove_suffix(1);
    entry.name = std::string(name);
    entry.depth = spaces / 2;
    return true;
}

} // namespace

std::vector<IomemEntry> parse_iomem(std::string_view text)
{
    std::vector<IomemEntry> entries;
    while (!text.empty()) {
        const std::string_view line = take_line(text);
        IomemEntry entry;
        if (parse_line(line, entry))
            entries.push_back(std::move(entry));
    }
    return entries;
}

std::optional<std::string> bar_claimant(const std::vector<IomemEntry>& entries, std::string_view device_address,
    std::uint64_t start, std::uint64_t size)
{
    if (size == 0)
        return std::nullopt;
    // A range running past the top of the address space ends there.
    const std::uint64_t last = size - 1 > UINT64_MAX - start ? UINT64_MAX : start + size - 1;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const IomemEntry& bar = entries[i];
        if (bar.name != device_address || bar.start > last || bar.end < start)
            continue;
        // Children follow their parent, one level deeper, until the depth
        // returns to the parent's.
        for (std::size_t j = i + 1; j < entries.size() && entries[j].depth > bar.depth; ++j) {
            const IomemEntry& child = entries[j];
            if (child.start <= last && child.end >= start)
                return child.name;
        }
    }
    return std::nullopt;
}

std::string describe_claimant(std::string_view claimant)
{
    if (claimant == "vfio")
        return "a VFIO user has the device open (kernels 7.x claim every BAR of a device when a VFIO user opens it)";
    if (claimant == "vfio-pci")
        return "a VFIO user mapped or touched this BAR through the device fd (kernels 6.x claim a BAR at its first use)";
    if (claimant == "wcalias")
        return "wcbrokerd's own claim through the wcalias module";
    return "a driver other than wcbroker holds it";
}

bool is_wcalias_claim(std::string_view claimant)
{
    return claimant == "wcalias";
}

} // namespace wcbroker
