// The policy in force, swapped only for a candidate that loaded without
// errors. Each successful swap bumps the generation, which leases record so
// a reload can tell which of them were granted under an older policy.
#pragma once

#include "policy-loader.hpp"

#include <cstdint>
#include <memory>

namespace wcbroker {

struct ReloadOutcome {
    bool applied = false;
    std::uint64_t generation = 0; // in force after the attempt
    Diagnostics diagnostics;      // the candidate's errors and warnings
};

class PolicyStore {
public:
    // Starts with an empty policy: no rules, so every request is denied.
    PolicyStore();

    std::shared_ptr<const Policy> current() const { return current_; }
    std::uint64_t generation() const { return generation_; }

    // Validate-then-swap: a candidate with errors leaves the current policy
    // and generation untouched.
    ReloadOutcome offer(LoadResult candidate);

private:
    std::shared_ptr<const Policy> current_;
    std::uint64_t generation_ = 0;
};

} // namespace wcbroker
