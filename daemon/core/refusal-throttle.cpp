#include "refusal-throttle.hpp"

namespace wcbroker {

bool is_refusal(AuditKind kind)
{
    return kind == AuditKind::AcquireDenied || kind == AuditKind::AcquireFailed;
}

RefusalThrottle::RefusalThrottle(AuditLog& next, RefusalLimits limits, Clock clock)
    : next_(next)
    , limits_(limits)
    , clock_(std::move(clock))
{
}

void RefusalThrottle::record(const AuditRecord& record)
{
    if (!is_refusal(record.kind) || !record.caller) {
        next_.record(record);
        return;
    }
    // A finished interval's summary comes before the next interval's records.
    flush();
    auto [window, fresh] = windows_.try_emplace(record.caller->uid);
    if (fresh)
        window->second.start = clock_();
    if (window->second.recorded < limits_.burst) {
        ++window->second.recorded;
        next_.record(record);
    } else {
        ++window->second.suppressed;
    }
}

void RefusalThrottle::flush(bool everything)
{
    const auto now = clock_();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(limits_.interval).count();
    for (auto it = windows_.begin(); it != windows_.end();) {
        const auto& [uid, window] = *it;
        if (!everything && now - window.start < limits_.interval) {
            ++it;
            continue;
        }
        if (window.suppressed > 0) {
            AuditRecord summary;
            summary.kind = AuditKind::RefusalsSuppressed;
            summary.message = "uid " + std::to_string(uid) + ": " + std::to_string(window.suppressed)
                + " refused Acquire request(s) not recorded one by one (more than " + std::to_string(limits_.burst)
                + " within " + std::to_string(seconds) + " s)";
            summary.with("REFUSING_UID", std::to_string(uid))
                .with("SUPPRESSED", std::to_string(window.suppressed))
                .with("RECORDED", std::to_string(window.recorded))
                .with("INTERVAL_SEC", std::to_string(seconds));
            next_.record(summary);
        }
        it = windows_.erase(it);
    }
}

} // namespace wcbroker
