// The address ranges the shim mapped from leases, and which of their pages
// are still mapped: a lease is released once none of its pages is (the
// program unmapped them, or mapped something else over them).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wcbroker::preload {

class LeaseRanges {
public:
    using Handle = void*; // the shim's wcbroker_mapping

    // Lock-free and safe from any thread: false when [start, start+length)
    // cannot touch any lease range, which is the answer for every munmap
    // and MAP_FIXED mmap unrelated to BARs.
    bool may_overlap(const void* start, std::size_t length) const noexcept
    {
        const auto begin = reinterpret_cast<std::uintptr_t>(start);
        return begin < high_.load(std::memory_order_acquire) && begin + length > low_.load(std::memory_order_acquire);
    }

    // The rest is for one thread at a time (the shim's mutex).
    void add(void* start, std::size_t length, Handle handle);
    // Marks [start, start+length) unmapped; returns the handles none of
    // whose pages are mapped any more, and forgets them.
    std::vector<Handle> unmapped(const void* start, std::size_t length);
    // Forgets every lease and returns them (a fork child forgets the parent's).
    std::vector<Handle> take_all();
    std::size_t size() const { return entries_.size(); }

private:
    struct Span {
        std::uintptr_t start;
        std::uintptr_t end;
    };
    struct Entry {
        Handle handle;
        std::vector<Span> mapped; // disjoint, what is left of the lease's range
    };
    void recompute_bounds();

    std::vector<Entry> entries_;
    // The hull of every entry's range; [max, 0) when there are none.
    std::atomic<std::uintptr_t> low_{UINTPTR_MAX};
    std::atomic<std::uintptr_t> high_{0};
};

} // namespace wcbroker::preload
