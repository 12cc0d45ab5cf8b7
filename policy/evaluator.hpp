// Policy decisions: a pure function of the policy, the device's facts, the
// caller's identity and the request. No I/O, no clock, no global state.
//
// Deciding and explaining are separate: evaluate() is on the hot path of
// every Acquire and builds no strings; explain() turns a decision into words
// for logs, D-Bus replies and `wcbrokerctl explain`, and gives the same
// words for the same inputs.
#pragma once

#include "access.hpp"
#include "caller.hpp"
#include "device-facts.hpp"
#include "policy.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wcbroker {

struct AccessRequest {
    std::uint32_t bar = 0;
    std::uint64_t offset = 0; // BAR-relative
    std::uint64_t length = 0;
    Access access = Access::WriteCombine;
};

enum class Refusal {
    None,         // allowed
    NoSuchBar,    // the device has no such BAR
    PastEndOfBar, // the range does not fit in the BAR
    NoRule,       // no rule grants the request
};

struct Decision {
    bool allowed = false; // what the policy says
    bool enforced = true; // false in audit mode, where a denial is logged but not applied
    Refusal refusal = Refusal::NoRule;

    // Every rule that allows the request, in merge order. The daemon charges
    // the first one whose lease limit is not exhausted.
    std::vector<const Rule*> allowing_rules;

    // For Refusal::NoRule: the rule that came closest, searched first among
    // the device's rules for the same BAR and access, then among all the
    // device's rules, then among all rules; null when none comes near.
    const Rule* nearest = nullptr;

    const Rule* rule() const { return allowing_rules.empty() ? nullptr : allowing_rules.front(); }
    // Whether the daemon goes ahead: an allow, or, in audit mode, a request
    // no rule grants. A request for a BAR or range the device does not have
    // is refused in both modes: there is nothing to map.
    bool granted() const { return allowed || (!enforced && refusal == Refusal::NoRule); }
};

struct Explanation {
    std::string reason;           // one sentence covering the whole decision
    std::string nearest_mismatch; // what the nearest rule lacked; empty without one
};

// Uses the policy's index; the answer is always identical to evaluate_by_scan.
Decision evaluate(const Policy& policy, const DeviceFacts& facts, const CallerIdentity& caller,
    const AccessRequest& request);

// The reference: every rule, in order. For tests and benchmarks.
Decision evaluate_by_scan(const Policy& policy, const DeviceFacts& facts, const CallerIdentity& caller,
    const AccessRequest& request);

// How much of the policy an explanation may show. The nearest rule's
// mismatch names the uids, groups, units and cgroups it trusts, and a rule's
// location names the policy files: that is for root and the audit log. A
// caller who is not root learns the verdict and the rule's name.
enum class ExplainDetail {
    Full,
    VerdictAndRuleName,
};

Explanation explain(const Policy& policy, const Decision& decision, const DeviceFacts& facts,
    const CallerIdentity& caller, const AccessRequest& request, ExplainDetail detail = ExplainDetail::Full);

// Full for root, VerdictAndRuleName for everybody else.
ExplainDetail explain_detail_for(const CallerIdentity& caller);

} // namespace wcbroker
