// The one place that decides who may do what, in the manner of bolt's
// bouncer: every broker entry point asks authorize() before it hands out,
// changes or ends anything, with the caller's identity as the bus daemon
// recorded it (argument checks and lookups may come first; they reveal
// nothing that is not public). Each action has exactly
// one row below; an action without a row does not compile, and a row that
// cannot decide denies.
#pragma once

#include "caller.hpp"
#include "evaluator.hpp"
#include "lease.hpp"

#include <optional>
#include <string>
#include <variant>

namespace wcbroker {

struct Caller {
    std::string bus_name; // unique name, e.g. ":1.42"
    CallerIdentity identity;
};

namespace action {
struct ListDevices {};
struct ListLeases {};
struct Explain {};
struct ListGrants {};
struct Acquire {
    const Policy* policy = nullptr;
    const DeviceFacts* device = nullptr;
    AccessRequest request;
};
struct Release {
    const Lease* lease = nullptr;
};
struct Reload {};
} // namespace action

using Action = std::variant<action::ListDevices, action::ListLeases, action::Explain, action::ListGrants,
    action::Acquire, action::Release, action::Reload>;

struct Verdict {
    bool allowed = false;
    std::string reason;             // why not, for a person
    std::optional<Decision> policy; // Acquire: the policy's decision, for auditing
};

Verdict authorize(const Caller& caller, const Action& action);

} // namespace wcbroker
