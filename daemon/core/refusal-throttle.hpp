// Keeps a flood of refused requests from drowning the audit trail. Any local
// user can send Acquire requests that are refused, and each refusal is an
// audit record: unthrottled, a few thousand a second make journald's
// per-service rate limit drop the records that matter (grants, revocations).
// So per uid, the first `burst` refusals in an interval are recorded in
// full, the rest only counted, and one acquire-refusals-suppressed record
// per uid and interval says how many were left out. Everything else passes
// through untouched.
#pragma once

#include "audit-log.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <sys/types.h>

namespace wcbroker {

// Per uid: `burst` refusals recorded in full per `interval`.
struct RefusalLimits {
    std::size_t burst = 20;
    std::chrono::steady_clock::duration interval = std::chrono::seconds(10);
};

class RefusalThrottle final : public AuditLog {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    explicit RefusalThrottle(
        AuditLog& next, RefusalLimits limits = RefusalLimits(), Clock clock = std::chrono::steady_clock::now);

    void record(const AuditRecord& record) override;

    // The summary of each uid whose interval is over and had refusals left
    // out; with `everything`, of every uid now (at exit). Called from a
    // timer, so a summary does not wait for the uid's next refusal.
    void flush(bool everything = false);

private:
    struct Window {
        std::chrono::steady_clock::time_point start;
        std::size_t recorded = 0;
        std::uint64_t suppressed = 0;
    };

    AuditLog& next_;
    RefusalLimits limits_;
    Clock clock_;
    std::map<uid_t, Window> windows_;
};

// Whether KIND records a refused Acquire (denied, invalid, or allowed but failed).
bool is_refusal(AuditKind kind);

} // namespace wcbroker
