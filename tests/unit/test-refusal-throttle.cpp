#include "refusal-throttle.hpp"

#include <gtest/gtest.h>

namespace wcbroker {
namespace {

using namespace std::chrono_literals;

struct CapturedLog final : AuditLog {
    std::vector<AuditRecord> records;
    void record(const AuditRecord& record) override { records.push_back(record); }
    std::size_t count(AuditKind kind) const
    {
        std::size_t n = 0;
        for (const AuditRecord& r : records)
            n += r.kind == kind ? 1 : 0;
        return n;
    }
    std::string field(const AuditRecord& record, const std::string& name) const
    {
        for (const auto& [field, value] : record.fields) {
            if (field == name)
                return value;
        }
        return "";
    }
};

AuditRecord refusal(uid_t uid, AuditKind kind = AuditKind::AcquireDenied)
{
    AuditRecord record;
    record.kind = kind;
    record.caller = CallerIdentity{uid, {uid}, 100, std::nullopt, std::nullopt};
    return record;
}

class RefusalThrottleTest : public ::testing::Test {
protected:
    CapturedLog log_;
    std::chrono::steady_clock::time_point now_{};
    RefusalThrottle throttle_{log_, {3, 10s}, [this] { return now_; }};
};

TEST_F(RefusalThrottleTest, FirstBurstIsRecordedThenCountedThenSummarisedOnce)
{
    for (int i = 0; i < 10; ++i)
        throttle_.record(refusal(1, i % 2 == 0 ? AuditKind::AcquireDenied : AuditKind::AcquireFailed));
    EXPECT_EQ(log_.records.size(), 3u);
    throttle_.flush();
    EXPECT_EQ(log_.records.size(), 3u) << "the interval is not over yet";
    now_ += 10s;
    throttle_.flush();
    ASSERT_EQ(log_.records.size(), 4u);
    const AuditRecord& summary = log_.records.back();
    EXPECT_EQ(summary.kind, AuditKind::RefusalsSuppressed);
    EXPECT_EQ(log_.field(summary, "REFUSING_UID"), "1");
    EXPECT_EQ(log_.field(summary, "SUPPRESSED"), "7");
    EXPECT_EQ(log_.field(summary, "RECORDED"), "3");
    throttle_.flush();
    EXPECT_EQ(log_.records.size(), 4u) << "one summary per interval";
}

TEST_F(RefusalThrottleTest, GrantsAndOtherKindsAreNeverHeldBack)
{
    for (int i = 0; i < 100; ++i)
        throttle_.record(refusal(1));
    for (AuditKind kind : {AuditKind::AcquireGranted, AuditKind::AcquireAuditOnly, AuditKind::LeaseReleased,
             AuditKind::LeaseRevoked, AuditKind::LeaseOwnerGone, AuditKind::PolicyReloaded}) {
        AuditRecord record = refusal(1);
        record.kind = kind;
        throttle_.record(record);
        EXPECT_EQ(log_.records.back().kind, kind);
    }
}

TEST_F(RefusalThrottleTest, EachUidHasItsOwnBudget)
{
    for (int i = 0; i < 50; ++i)
        throttle_.record(refusal(1));
    throttle_.record(refusal(65534));
    EXPECT_EQ(log_.records.size(), 4u);
    EXPECT_EQ(log_.records.back().caller->uid, 65534u);
}

TEST_F(RefusalThrottleTest, ANewIntervalStartsWithTheSummaryOfTheLastOne)
{
    for (int i = 0; i < 5; ++i)
        throttle_.record(refusal(1));
    now_ += 11s;
    throttle_.record(refusal(1));
    ASSERT_EQ(log_.records.size(), 5u);
    EXPECT_EQ(log_.records[3].kind, AuditKind::RefusalsSuppressed);
    EXPECT_EQ(log_.records[4].kind, AuditKind::AcquireDenied);
}

TEST_F(RefusalThrottleTest, FlushingEverythingAtExitLosesNoCount)
{
    for (int i = 0; i < 4; ++i)
        throttle_.record(refusal(7));
    throttle_.flush(true);
    ASSERT_EQ(log_.count(AuditKind::RefusalsSuppressed), 1u);
    EXPECT_EQ(log_.field(log_.records.back(), "SUPPRESSED"), "1");
}

} // namespace
} // namespace wcbroker
