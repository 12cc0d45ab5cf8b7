// At start, before the bus name is owned: the leases a previous wcbrokerd
// left behind (records in the state directory, fds in systemd's fd store),
// each checked against the bus (is its owner still connected, to the same
// bus instance, as the same uid?) and handed to the broker, which checks
// the device and the policy.
#pragma once

#include "broker.hpp"
#include "bus-credentials.hpp"
#include "lease-persistence.hpp"

namespace wcbroker {

// STORED: the lease fds the service manager handed back (take_stored_fds()).
void recover_leases(Broker& broker, LeaseStateKeeper& keeper, BusCredentials& credentials,
    std::map<std::uint64_t, UniqueFd> stored);

} // namespace wcbroker
