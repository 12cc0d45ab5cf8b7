#include "lease-ranges.hpp"

#include <algorithm>

namespace wcbroker::preload {

void LeaseRanges::add(void* start, std::size_t length, Handle handle)
{
    const auto begin = reinterpret_cast<std::uintptr_t>(start);
    entries_.push_back({handle, {{begin, begin + length}}});
    // Widened before the mapping is used: a concurrent munmap of it then
    // takes the slow path.
    if (begin < low_.load(std::memory_order_relaxed))
        low_.store(begin, std::memory_order_release);
    if (begin + length > high_.load(std::memory_order_relaxed))
        high_.store(begin + length, std::memory_order_release);
}

std::vector<LeaseRanges::Handle> LeaseRanges::unmapped(const void* start, std::size_t length)
{
    const auto cut_start = reinterpret_cast<std::uintptr_t>(start);
    const auto cut_end = cut_start + length;
    std::vector<Handle> gone;
    for (Entry& entry : entries_) {
        std::vector<Span> left;
        for (const Span& span : entry.mapped) {
            if (span.end <= cut_start || cut_end <= span.start) {
                left.push_back(span);
                continue;
            }
            if (span.start < cut_start)
                left.push_back({span.start, cut_start});
            if (cut_end < span.end)
                left.push_back({cut_end, span.end});
        }
        entry.mapped = std::move(left);
        if (entry.mapped.empty())
            gone.push_back(entry.handle);
    }
    if (!gone.empty()) {
        std::erase_if(entries_, [](const Entry& entry) { return entry.mapped.empty(); });
        recompute_bounds();
    }
    return gone;
}

std::vector<LeaseRanges::Handle> LeaseRanges::take_all()
{
    std::vector<Handle> all;
    for (const Entry& entry : entries_)
        all.push_back(entry.handle);
    entries_.clear();
    recompute_bounds();
    return all;
}

void LeaseRanges::recompute_bounds()
{
    std::uintptr_t low = UINTPTR_MAX;
    std::uintptr_t high = 0;
    for (const Entry& entry : entries_) {
        for (const Span& span : entry.mapped) {
            low = std::min(low, span.start);
            high = std::max(high, span.end);
        }
    }
    low_.store(low, std::memory_order_release);
    high_.store(high, std::memory_order_release);
}

} // namespace wcbroker::preload
