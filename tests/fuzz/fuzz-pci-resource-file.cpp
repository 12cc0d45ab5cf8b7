// libFuzzer target: arbitrary bytes as a device's sysfs `resource` file
// (parse_pci_resource_file, what read_pci_device() does with it).
//
// Beyond "no crash", for every input the parser accepts:
// - at most six BARs, indices strictly increasing and below 6, and the input
//   has at least as many lines as the last BAR's index needs;
// - every BAR has a non-zero size, its range [start, start + size) stays
//   within 64 bits, and its kind and prefetchability agree with its flags;
// - the has_uc_file/has_wc_file fields stay false (they are not this file's);
// - writing the BARs back out in the kernel's format (unused slots as zero
//   lines) and parsing that again gives the same BARs.

#include "pci-resource-file.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using wcbroker::BarFacts;
using wcbroker::BarKind;

std::string serialize(const std::vector<BarFacts>& bars)
{
    std::string text;
    for (std::uint32_t index = 0; index < 6; ++index) {
        std::uint64_t start = 0;
        std::uint64_t end = 0;
        std::uint64_t flags = 0;
        for (const BarFacts& bar : bars) {
            if (bar.index == index) {
                start = bar.start;
                end = bar.start + (bar.size - 1);
                flags = bar.flags;
            }
        }
        char line[80];
        std::snprintf(line, sizeof line, "0x%016llx 0x%016llx 0x%016llx\n", static_cast<unsigned long long>(start),
            static_cast<unsigned long long>(end), static_cast<unsigned long long>(flags));
        text += line;
    }
    return text;
}

void check(const std::vector<BarFacts>& bars, std::string_view input)
{
    if (bars.size() > 6)
        std::abort();
    // Lines in the input: a final line without a newline counts too.
    const std::size_t lines = static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n'))
        + (!input.empty() && input.back() != '\n' ? 1 : 0);
    for (std::size_t i = 0; i < bars.size(); ++i) {
        const BarFacts& bar = bars[i];
        if (bar.index >= 6 || (i > 0 && bar.index <= bars[i - 1].index) || bar.index >= lines)
            std::abort();
        if (bar.size == 0 || bar.size - 1 > UINT64_MAX - bar.start)
            std::abort(); // empty, or runs past the end of the address space
        const bool io = (bar.flags & wcbroker::ioresource_io) != 0;
        const bool mem = (bar.flags & wcbroker::ioresource_mem) != 0;
        if (!io && !mem)
            std::abort(); // neither I/O nor memory is not a BAR
        const BarKind expected = io ? BarKind::Io
            : (bar.flags & wcbroker::ioresource_mem_64) != 0 ? BarKind::Memory64
                                                              : BarKind::Memory32;
        if (bar.kind != expected || bar.is_memory() == io)
            std::abort();
        if (bar.prefetchable != (!io && (bar.flags & wcbroker::ioresource_prefetch) != 0))
            std::abort();
        if (bar.has_uc_file || bar.has_wc_file)
            std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto bars = wcbroker::parse_pci_resource_file(input);
    if (!bars)
        return 0;
    check(*bars, input);
    const std::string again = serialize(*bars);
    const auto reparsed = wcbroker::parse_pci_resource_file(again);
    if (!reparsed || *reparsed != *bars)
        std::abort(); // the parser's own output format must read back the same
    return 0;
}
