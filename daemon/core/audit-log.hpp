// One structured record per decision wcbrokerd makes about device memory:
// every Acquire (granted, denied, granted only in audit mode, or allowed but
// failed), every lease end or recovery after a restart, every policy reload, every BAR the
// wcalias module could not claim. Under journald each record
// is a journal entry with a MESSAGE_ID per kind and WCBROKER_* fields
// (`journalctl MESSAGE_ID=...`, docs/admin.md); otherwise one "audit:" line
// of key=value pairs on stderr.
#pragma once

#include "caller.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wcbroker {

enum class AuditKind {
    AcquireGranted,
    AcquireDenied,
    AcquireAuditOnly, // the policy denied it, audit mode granted it
    AcquireFailed,    // allowed, but limits, conflicts or the kernel refused; or malformed (DECISION=invalid)
    LeaseReleased,
    LeaseOwnerGone,
    LeaseRevoked,
    LeaseRecovered, // a restarted daemon took over a lease its predecessor granted
    PolicyReloaded,
    PolicyRejected,
    RefusalsSuppressed, // one uid's refusals over the throttle's burst, counted (refusal-throttle.hpp)
    BarClaimFailed,     // the wcalias module could not claim a BAR the policy serves through it
};

std::string_view audit_kind_name(AuditKind kind);  // "acquire-granted", ...
std::string_view audit_message_id(AuditKind kind); // 32 hex digits

// (FIELD, value) pairs; FIELD without the WCBROKER_ prefix.
using AuditFields = std::vector<std::pair<std::string, std::string>>;

struct AuditRecord {
    AuditKind kind = AuditKind::AcquireDenied;
    std::string message; // one human sentence
    std::optional<std::string> bus_name;
    std::optional<CallerIdentity> caller;
    AuditFields fields; // everything else

    AuditRecord& with(std::string field, std::string value)
    {
        fields.emplace_back(std::move(field), std::move(value));
        return *this;
    }
};

class AuditLog {
public:
    virtual ~AuditLog() = default;
    virtual void record(const AuditRecord& record) = 0;
};

// The journal when stderr is connected to it, else stderr.
class SystemAuditLog final : public AuditLog {
public:
    void record(const AuditRecord& record) override;
};

// TEXT as an audit field may show a string a client chose: at most MAX
// bytes, control and non-ASCII bytes as '?', and a cut says how long the
// original was. A request's raw strings go through this before they are
// recorded, so that the cost of a record does not depend on the caller.
std::string bounded_field(std::string_view text, std::size_t max = 64);

// The stderr form of a record, also used by tests.
std::string audit_line(const AuditRecord& record);

} // namespace wcbroker
