#include "lease-recovery.hpp"

#include "log.hpp"

namespace wcbroker {
namespace {

constexpr std::string_view no_such_name = "org.freedesktop.DBus.Error.NameHasNoOwner";

// Checks the lease's owner against the bus. When it still holds the lease,
// its identity is taken from the bus again rather than from the record, so
// that every later decision rests on what the bus recorded.
void check_owner(LeaseToRestore& item, const std::string& bus_id, const std::string& recorded_bus_id,
    BusCredentials& credentials)
{
    LeaseInfo& lease = item.lease;
    const std::string& owner = lease.owner;
    // Unique names are only unique within one run of the bus daemon.
    if (recorded_bus_id != bus_id) {
        item.owner_problem = "the bus its owner " + owner + " was connected to has restarted";
        return;
    }
    try {
        const Caller now = credentials.caller(owner);
        if (now.identity.uid != lease.holder.uid) {
            item.owner_problem = "its owner " + owner + " is now uid " + std::to_string(now.identity.uid);
            return;
        }
        lease.holder = now.identity;
    } catch (const sdbus::Error& error) {
        if (error.getName() == no_such_name) {
            item.owner_problem = "its owner " + owner + " left the bus";
            return;
        }
        // Unproven is not kept: a lease stands only on what the bus confirms.
        item.owner_problem = "the bus could not confirm its owner " + owner + " (" + error.getName() + ": "
            + error.getMessage() + ")";
        item.owner_unconfirmed = true;
    }
}

} // namespace

void recover_leases(Broker& broker, LeaseStateKeeper& keeper, BusCredentials& credentials,
    std::map<std::uint64_t, UniqueFd> stored)
{
    std::vector<LeaseToRestore> leases;
    for (LeaseStateKeeper::Found& found : keeper.load()) {
        if (const std::string* problem = std::get_if<std::string>(&found.record)) {
            log_warning(found.file + " is not a usable lease record (" + *problem + "); removed");
            keeper.discard(found);
            continue;
        }
        LeaseRecord& record = std::get<LeaseRecord>(found.record);
        LeaseToRestore item;
        item.lease = std::move(record.lease);
        check_owner(item, keeper.bus_id(), record.bus_id, credentials);
        if (auto fd = stored.find(item.lease.id); fd != stored.end()) {
            item.fd = std::move(fd->second);
            item.fd_from_store = true;
            stored.erase(fd);
        }
        leases.push_back(std::move(item));
    }
    // An fd whose record is gone (a crash between the two) is of no use.
    for (const auto& [id, fd] : stored)
        keeper.lease_ended(id);
    if (leases.empty())
        return;
    const std::size_t found = leases.size();
    broker.restore_leases(std::move(leases));
    log_info("found " + std::to_string(found) + " lease record(s) from a previous run; "
        + std::to_string(broker.leases().size()) + " lease(s) taken over");
}

} // namespace wcbroker
