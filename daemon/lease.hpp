// A granted range, as wcbrokerd remembers it.
#pragma once

#include "caller.hpp"
#include "evaluator.hpp"
#include "mechanism.hpp"
#include "memtype.hpp"
#include "unique-fd.hpp"

#include <cstdint>
#include <string>

namespace wcbroker {

struct Lease {
    std::uint64_t id = 0;
    std::string owner;       // the client's unique bus name
    CallerIdentity holder;   // as the bus recorded it at Acquire; re-checked on every reload
    std::string address;     // device
    std::uint64_t device_generation = 0;
    AccessRequest request;
    Memtype memtype = Memtype::Unverified;
    std::string verification; // how the memtype was established
    std::string mechanism;
    RangeEnforcement range_enforcement = RangeEnforcement::Advisory;
    std::string rule;         // the rule it is charged to; empty when granted only by audit mode
    std::string rule_label;   // "'name' (file:line:col)"
    std::uint64_t policy_generation = 0;
    bool audit_only = false;
    bool client_requires_verified_wc = false;
    std::string label;
    std::uint64_t created_realtime_usec = 0;
    // wcbrokerd keeps its own reference to the fd it handed out, so a
    // restarted daemon can recover it from systemd's fd store.
    UniqueFd fd;
};

} // namespace wcbroker
