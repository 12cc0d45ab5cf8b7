// Which leases make up a BAR mapping: the pure decision of the preload shim.
// Given the byte range of a BAR a program maps and the ranges the policy
// grants the caller, the pieces to lease, or nothing when any byte is not
// granted (the shim then leaves the mapping to VFIO).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace wcbroker::preload {

enum class Access { WriteCombine, Uncached };

// A range of the BAR, BAR-relative; used for grants and for pieces alike.
struct BarSpan {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    Access access = Access::Uncached;

    friend bool operator==(const BarSpan&, const BarSpan&) = default;
};

// The pieces covering [offset, offset + length) exactly, in address order,
// each inside one grant (a lease is granted by one rule) and page-aligned
// (leases are). Write-combining wins wherever a WC grant covers a page; the
// rest comes from uncached grants. Only whole pages of a grant count: a page
// a grant covers in part is not granted by it. nullopt when a page is not
// covered, or when the range itself is empty or not page-aligned.
std::optional<std::vector<BarSpan>> compose_bar_map(
    std::uint64_t offset, std::uint64_t length, std::span<const BarSpan> grants, std::uint64_t page_size);

} // namespace wcbroker::preload
