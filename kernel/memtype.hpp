// Memory types as the x86 PAT code names them, and what a lease reports.
#pragma once

#include <optional>
#include <string>
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

// The memory type a lease's range got, and how that is known.
struct Verification {
    Memtype memtype = Memtype::Unverified;
    std::string detail; // how it was established, or why it could not be
};

// "write-combining", "uncached-minus", ..., "unverified": the kernel's own
// spelling (arch/x86/mm/pat/memtype.c), which is also the D-Bus value.
std::string_view memtype_name(Memtype type);
std::optional<Memtype> parse_memtype_name(std::string_view name);

} // namespace wcbroker
