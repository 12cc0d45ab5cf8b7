// Memory types as the x86 PAT code names them, and what a lease reports.
#pragma once

#include <optional>
#include <string_view>

namespace wcbroker {

enum class Memtype {
    WriteCombining,
    UncachedMinus,
    Uncached,
    WriteBack,
    WriteThrough,
    WriteProtected,
    // The kernel's choice could not be read: no PAT list (not x86, no
    // debugfs), or the list did not cover the mapping. Never reported as
    // write-combining.
    Unverified,
};

// "write-combining", "uncached-minus", ..., "unverified": the kernel's own
// spelling (arch/x86/mm/pat/memtype.c), which is also the D-Bus value.
std::string_view memtype_name(Memtype type);
std::optional<Memtype> parse_memtype_name(std::string_view name);

} // namespace wcbroker
