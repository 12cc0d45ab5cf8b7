#include "audit-log.hpp"

#include "log.hpp"

#include <cstdio>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

namespace wcbroker {
namespace {

struct KindInfo {
    AuditKind kind;
    std::string_view name;
    std::string_view message_id;
};

// Stable identifiers: admins filter on these.
constexpr KindInfo kinds[] = {
    {AuditKind::AcquireGranted, "acquire-granted", "b51d96779ec14df39e71328eb1fe6258"},
    {AuditKind::AcquireDenied, "acquire-denied", "d1073652c5574586a0239c95f9a4f2bd"},
    {AuditKind::AcquireAuditOnly, "acquire-audit-only", "e7f8a8148a0c453193f61a5b0ab8da16"},
    {AuditKind::AcquireFailed, "acquire-failed", "ab0f9edcd13f49afb9d60534ef73a378"},
    {AuditKind::LeaseReleased, "lease-released", "95607437447446ed8232e3d6df59a9b3"},
    {AuditKind::LeaseOwnerGone, "lease-owner-gone", "e1f78d20a26146e3a6c78bbf6a165ac7"},
    {AuditKind::LeaseRevoked, "lease-revoked", "126681983ec74cffb32678213b81906f"},
    {AuditKind::LeaseRecovered, "lease-recovered", "2badf172b87e4a4ba5451fc057ffcf98"},
    {AuditKind::PolicyReloaded, "policy-reloaded", "e01d26db26af4076b0365ca731c76f4e"},
    {AuditKind::PolicyRejected, "policy-rejected", "80f7683e47224e769985ff3d210f310d"},
    {AuditKind::RefusalsSuppressed, "acquire-refusals-suppressed", "0dc7857afa434ba9af62908b4f818afd"},
    {AuditKind::BarClaimFailed, "bar-claim-failed", "8e22c33755574848bb1105e4907be152"},
};

const KindInfo& info(AuditKind kind)
{
    for (const KindInfo& entry : kinds) {
        if (entry.kind == kind)
            return entry;
    }
    return kinds[0];
}

// Every field of the record, caller first, in a fixed order.
std::vector<std::pair<std::string, std::string>> all_fields(const AuditRecord& record)
{
    std::vector<std::pair<std::string, std::string>> fields;
    fields.emplace_back("KIND", std::string(audit_kind_name(record.kind)));
    if (record.bus_name)
        fields.emplace_back("BUS_NAME", *record.bus_name);
    if (record.caller) {
        fields.emplace_back("UID", std::to_string(record.caller->uid));
        fields.emplace_back("GIDS", gid_list(record.caller->gids));
        fields.emplace_back("PID", std::to_string(record.caller->pid));
        if (record.caller->systemd_unit)
            fields.emplace_back("UNIT", *record.caller->systemd_unit);
        if (record.caller->cgroup)
            fields.emplace_back("CGROUP", *record.caller->cgroup);
    }
    fields.insert(fields.end(), record.fields.begin(), record.fields.end());
    return fields;
}

std::string quoted(const std::string& value)
{
    if (!value.empty() && value.find_first_of(" \t\"'\\=") == std::string::npos)
        return value;
    std::string out = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out + "\"";
}

std::string lower(std::string text)
{
    for (char& c : text)
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return text;
}

} // namespace

std::string_view audit_kind_name(AuditKind kind)
{
    return info(kind).name;
}

std::string_view audit_message_id(AuditKind kind)
{
    return info(kind).message_id;
}

std::string bounded_field(std::string_view text, std::size_t max)
{
    std::string out;
    for (char c : text.substr(0, max))
        out += c >= 0x20 && c <= 0x7e ? c : '?';
    if (text.size() > max)
        out += "...(" + std::to_string(text.size()) + " bytes)";
    return out;
}

std::string audit_line(const AuditRecord& record)
{
    std::string line = "audit:";
    for (const auto& [field, value] : all_fields(record))
        line += " " + lower(field) + "=" + quoted(value);
    return line + " message=" + quoted(record.message);
}

void SystemAuditLog::record(const AuditRecord& record)
{
    if (!logging_to_journal()) {
        std::fprintf(stderr, "%s\n", audit_line(record).c_str());
        return;
    }
    std::vector<std::string> entries;
    entries.push_back("MESSAGE=" + record.message);
    entries.push_back("MESSAGE_ID=" + std::string(audit_message_id(record.kind)));
    entries.push_back("PRIORITY=" + std::to_string(record.kind == AuditKind::AcquireDenied ? LOG_NOTICE : LOG_INFO));
    entries.push_back("SYSLOG_IDENTIFIER=wcbrokerd");
    for (const auto& [field, value] : all_fields(record))
        entries.push_back("WCBROKER_" + field + "=" + value);
    std::vector<struct iovec> vectors;
    for (std::string& entry : entries)
        vectors.push_back({entry.data(), entry.size()});
    sd_journal_sendv(vectors.data(), static_cast<int>(vectors.size()));
}

} // namespace wcbroker
