// What the policy grants one caller on one BAR, as ranges rather than as a
// yes or no: for a client that maps a whole BAR and must learn which parts
// it may have write-combining and which uncached (the preload shim composes
// DPDK's BAR mapping from them). A pure function, like evaluate(); it
// decides nothing: every Acquire is still authorized on its own.
#pragma once

#include "access.hpp"
#include "caller.hpp"
#include "device-facts.hpp"
#include "policy.hpp"

#include <cstdint>
#include <vector>

namespace wcbroker {

struct Grant {
    ByteRange range; // inside the BAR
    Access access = Access::WriteCombine;
    const Rule* rule = nullptr;
};

// Every range of BAR `bar` that a rule grants `caller` on this device, rule
// by rule in merge order and, within a rule, in ascending order; a
// whole-BAR rule gives (0, BAR size). Ranges are clipped to the BAR. Audit
// mode widens nothing: this is what the rules say. Empty when the device
// has no such BAR.
std::vector<Grant> grants_for(const Policy& policy, const DeviceFacts& facts, const CallerIdentity& caller,
    std::uint32_t bar);

} // namespace wcbroker
