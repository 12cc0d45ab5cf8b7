#include "bar-composition.hpp"

#include <algorithm>
#include <limits>

namespace wcbroker::preload {
namespace {

struct Interval {
    std::uint64_t start;
    std::uint64_t end;
};

// The whole pages of a grant, or nothing. A grant reaching past 2^64 is
// cut there: no BAR does.
std::optional<Interval> whole_pages(const BarSpan& grant, std::uint64_t page_size)
{
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t end = grant.length > max - grant.offset ? max : grant.offset + grant.length;
    if (grant.offset > max - (page_size - 1))
        return std::nullopt;
    const std::uint64_t start = (grant.offset + page_size - 1) / page_size * page_size;
    const std::uint64_t aligned_end = end / page_size * page_size;
    if (aligned_end <= start)
        return std::nullopt;
    return Interval{start, aligned_end};
}

// The end of the farthest-reaching grant of `access` that holds `at`.
std::optional<std::uint64_t> reach_from(
    std::uint64_t at, Access access, std::span<const BarSpan> grants, std::uint64_t page_size)
{
    std::optional<std::uint64_t> best;
    for (const BarSpan& grant : grants) {
        if (grant.access != access)
            continue;
        auto pages = whole_pages(grant, page_size);
        if (pages && pages->start <= at && at < pages->end && (!best || pages->end > *best))
            best = pages->end;
    }
    return best;
}

// Where the next write-combining grant after `at` starts (its whole pages).
std::uint64_t next_wc_start(std::uint64_t at, std::uint64_t limit, std::span<const BarSpan> grants, std::uint64_t page_size)
{
    std::uint64_t next = limit;
    for (const BarSpan& grant : grants) {
        if (grant.access != Access::WriteCombine)
            continue;
        if (auto pages = whole_pages(grant, page_size); pages && pages->start > at)
            next = std::min(next, pages->start);
    }
    return next;
}

} // namespace

std::optional<std::vector<BarSpan>> compose_bar_map(
    std::uint64_t offset, std::uint64_t length, std::span<const BarSpan> grants, std::uint64_t page_size)
{
    if (page_size == 0 || length == 0 || offset % page_size != 0 || length % page_size != 0
        || length > std::numeric_limits<std::uint64_t>::max() - offset)
        return std::nullopt;
    const std::uint64_t end = offset + length;
    std::vector<BarSpan> pieces;
    std::uint64_t at = offset;
    while (at < end) {
        if (auto wc_end = reach_from(at, Access::WriteCombine, grants, page_size)) {
            const std::uint64_t stop = std::min(*wc_end, end);
            pieces.push_back({at, stop - at, Access::WriteCombine});
            at = stop;
            continue;
        }
        auto uc_end = reach_from(at, Access::Uncached, grants, page_size);
        if (!uc_end)
            return std::nullopt; // a page nobody grants: VFIO keeps the whole mapping
        const std::uint64_t stop = std::min({*uc_end, end, next_wc_start(at, end, grants, page_size)});
        pieces.push_back({at, stop - at, Access::Uncached});
        at = stop;
    }
    return pieces;
}

} // namespace wcbroker::preload
