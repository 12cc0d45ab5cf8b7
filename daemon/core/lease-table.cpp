#include "lease-table.hpp"

namespace wcbroker {

const Lease& LeaseTable::add(Lease lease)
{
    const std::uint64_t id = lease.id;
    if (id >= next_id_)
        next_id_ = id + 1;
    return leases_.insert_or_assign(id, std::move(lease)).first->second;
}

std::optional<Lease> LeaseTable::remove(std::uint64_t id)
{
    auto it = leases_.find(id);
    if (it == leases_.end())
        return std::nullopt;
    Lease lease = std::move(it->second);
    leases_.erase(it);
    return lease;
}

const Lease* LeaseTable::find(std::uint64_t id) const
{
    auto it = leases_.find(id);
    return it == leases_.end() ? nullptr : &it->second;
}

Lease* LeaseTable::find(std::uint64_t id)
{
    auto it = leases_.find(id);
    return it == leases_.end() ? nullptr : &it->second;
}

std::vector<std::uint64_t> LeaseTable::owned_by(std::string_view owner) const
{
    std::vector<std::uint64_t> ids;
    for (const auto& [id, lease] : leases_) {
        if (lease.owner == owner)
            ids.push_back(id);
    }
    return ids;
}

std::vector<std::uint64_t> LeaseTable::on_device(std::string_view address) const
{
    std::vector<std::uint64_t> ids;
    for (const auto& [id, lease] : leases_) {
        if (lease.address == address)
            ids.push_back(id);
    }
    return ids;
}

std::vector<const Lease*> LeaseTable::all() const
{
    std::vector<const Lease*> leases;
    for (const auto& [id, lease] : leases_)
        leases.push_back(&lease);
    return leases;
}

std::size_t LeaseTable::count(std::string_view rule, uid_t uid) const
{
    std::size_t n = 0;
    for (const auto& [id, lease] : leases_)
        n += lease.rule == rule && lease.holder.uid == uid ? 1 : 0;
    return n;
}

std::size_t LeaseTable::count(uid_t uid) const
{
    std::size_t n = 0;
    for (const auto& [id, lease] : leases_)
        n += lease.holder.uid == uid ? 1 : 0;
    return n;
}

const Lease* LeaseTable::conflicting(std::string_view address, const AccessRequest& request) const
{
    const ByteRange wanted{request.offset, request.length};
    for (const auto& [id, lease] : leases_) {
        if (lease.address != address || lease.request.bar != request.bar || lease.request.access == request.access)
            continue;
        const ByteRange held{lease.request.offset, lease.request.length};
        if (held.offset < wanted.end() && wanted.offset < held.end())
            return &lease;
    }
    return nullptr;
}

} // namespace wcbroker
