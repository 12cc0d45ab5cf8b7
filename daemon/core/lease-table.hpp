// The live leases: lookups by id, owner and device, the counts behind
// max_leases, and the write-combine/uncached overlap check. Pure bookkeeping.
#pragma once

#include "lease.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace wcbroker {

class LeaseTable {
public:
    std::uint64_t allocate_id() { return next_id_++; }
    // Ids up to `id` were used by a previous run: never hand them out again.
    void skip_ids_through(std::uint64_t id) { next_id_ = std::max(next_id_, id + 1); }

    // Under its own id: a fresh one from allocate_id(), or the id a previous
    // run of the daemon gave it (later ids stay above it).
    const Lease& add(Lease lease);
    std::optional<Lease> remove(std::uint64_t id);

    const Lease* find(std::uint64_t id) const;
    Lease* find(std::uint64_t id);
    std::vector<std::uint64_t> owned_by(std::string_view owner) const;
    std::vector<std::uint64_t> on_device(std::string_view address) const;
    std::vector<const Lease*> all() const; // by id, oldest first
    std::size_t size() const { return leases_.size(); }

    // Live leases one uid holds under one rule (max_leases), and in all.
    std::size_t count(std::string_view rule, uid_t uid) const;
    std::size_t count(uid_t uid) const;

    // A live lease of the same device and BAR whose range overlaps and whose
    // access differs: mapping one page with two memory types is undefined
    // on x86, and the kernel would silently give the newcomer the old type.
    const Lease* conflicting(std::string_view address, const AccessRequest& request) const;

private:
    std::map<std::uint64_t, Lease> leases_;
    std::uint64_t next_id_ = 1;
};

} // namespace wcbroker
