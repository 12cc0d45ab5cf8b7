#include "audit-log.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <set>

namespace wcbroker {
namespace {

TEST(AuditLog, LineCarriesCallerFieldsAndMessageQuotedWhereNeeded)
{
    AuditRecord record;
    record.kind = AuditKind::AcquireDenied;
    record.message = "denied: no rule";
    record.bus_name = ":1.7";
    record.caller = CallerIdentity{1001, {1001, 2000}, 4242, std::string("x.service"), std::string("/system.slice/x.service")};
    record.with("DEVICE", "0000:3b:00.0").with("RULE", "'r' (policy.toml:3:1)");
    EXPECT_EQ(audit_line(record),
        "audit: kind=acquire-denied bus_name=:1.7 uid=1001 gids=1001,2000 pid=4242 unit=x.service "
        "cgroup=/system.slice/x.service device=0000:3b:00.0 rule=\"'r' (policy.toml:3:1)\" message=\"denied: no rule\"");
}

constexpr AuditKind all_kinds[] = {AuditKind::AcquireGranted, AuditKind::AcquireDenied, AuditKind::AcquireAuditOnly,
    AuditKind::AcquireFailed, AuditKind::LeaseReleased, AuditKind::LeaseOwnerGone, AuditKind::LeaseRevoked,
    AuditKind::LeaseRecovered, AuditKind::PolicyReloaded, AuditKind::PolicyRejected, AuditKind::RefusalsSuppressed,
    AuditKind::BarClaimFailed};

TEST(AuditLog, EveryKindHasItsOwnStableMessageId)
{
    std::set<std::string_view> ids;
    for (AuditKind kind : all_kinds) {
        EXPECT_EQ(audit_message_id(kind).size(), 32u);
        ids.insert(audit_message_id(kind));
    }
    EXPECT_EQ(ids.size(), std::size(all_kinds));
    EXPECT_EQ(audit_message_id(AuditKind::AcquireDenied), "d1073652c5574586a0239c95f9a4f2bd");
}

// journalctl -x explains exactly the records the daemon writes.
TEST(AuditLog, TheJournalCatalogHasOneEntryPerMessageId)
{
    std::ifstream catalog(JOURNAL_CATALOG);
    ASSERT_TRUE(catalog) << JOURNAL_CATALOG;
    std::multiset<std::string> entries;
    for (std::string line; std::getline(catalog, line);) {
        if (line.starts_with("-- "))
            entries.insert(line.substr(3));
    }
    std::multiset<std::string> expected;
    for (AuditKind kind : all_kinds)
        expected.insert(std::string(audit_message_id(kind)));
    EXPECT_EQ(entries, expected);
}

TEST(AuditLog, BoundedFieldCutsLongAndHidesUnprintableText)
{
    EXPECT_EQ(bounded_field("0000:3b:00.0"), "0000:3b:00.0");
    EXPECT_EQ(bounded_field("a\nb\x1b\xff"), "a?b??");
    EXPECT_EQ(bounded_field(std::string(120000, 'x'), 8), "xxxxxxxx...(120000 bytes)");
    EXPECT_EQ(bounded_field(std::string(64, 'y')), std::string(64, 'y'));
}

} // namespace
} // namespace wcbroker
