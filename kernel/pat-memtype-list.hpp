// /sys/kernel/debug/x86/pat_memtype_list: the kernel's record of the memory
// type of every live mapping of physical memory it tracks. What was asked
// for does not matter; this is what the CPU was told (kernel-facts.md 2).
#pragma once

#include "memtype.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace wcbroker {

struct PatEntry {
    std::uint64_t start = 0;
    std::uint64_t end = 0; // exclusive
    Memtype type = Memtype::Unverified;
};

// Both line formats: "PAT: [mem 0x...-0x...] write-combining" (current) and
// "write-combining @ 0x...-0x..." (before v5.x). Lines in neither are skipped.
std::vector<PatEntry> parse_pat_memtype_list(std::string_view text);

// The type in effect for [start, start + length): the one type every entry
// overlapping it agrees on, provided those entries cover all of it.
// Unverified when nothing covers it, coverage has holes, or types disagree.
Memtype effective_memtype(const std::vector<PatEntry>& entries, std::uint64_t start, std::uint64_t length);

} // namespace wcbroker
