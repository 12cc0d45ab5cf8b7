#include "pat-memtype-list.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

namespace wcbroker {
namespace {

std::string fixture(const std::string& name)
{
    std::ifstream in(std::string(TEST_DATA_DIR) + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(PatMemtypeList, ParsesTheCurrentFormat)
{
    const auto entries = parse_pat_memtype_list(fixture("pat_memtype_list.v6"));
    ASSERT_EQ(entries.size(), 7u);
    EXPECT_EQ(entries[0].start, 0xfea00000u);
    EXPECT_EQ(entries[0].end, 0xfea07000u);
    EXPECT_EQ(entries[0].type, Memtype::WriteCombining);
    EXPECT_EQ(entries[2].type, Memtype::UncachedMinus);
}

TEST(PatMemtypeList, ParsesTheOlderFormat)
{
    const auto entries = parse_pat_memtype_list(fixture("pat_memtype_list.v4"));
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].start, 0xfea00000u);
    EXPECT_EQ(entries[0].end, 0xfeb00000u);
    EXPECT_EQ(entries[0].type, Memtype::WriteCombining);
    EXPECT_EQ(entries[2].type, Memtype::WriteBack);
}

TEST(PatMemtypeList, SkipsLinesInNeitherFormat)
{
    const auto entries = parse_pat_memtype_list("garbage\nPAT: [mem 0x1000-0x2000]\nPAT: [mem 0x2000-0x1000] uncached\n"
                                                "teapot @ 0x1000-0x2000\nPAT: [mem 0x1000-0x2000] uncached\n");
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].type, Memtype::Uncached);
}

TEST(EffectiveMemtype, RangeCoveredByOneTypeHasThatType)
{
    const auto entries = parse_pat_memtype_list(fixture("pat_memtype_list.v6"));
    // Two adjacent write-combining entries cover the whole 1 MiB BAR.
    EXPECT_EQ(effective_memtype(entries, 0xfea00000, 0x100000), Memtype::WriteCombining);
    EXPECT_EQ(effective_memtype(entries, 0xfea06000, 0x2000), Memtype::WriteCombining);
    EXPECT_EQ(effective_memtype(entries, 0xfebd1000, 0x1000), Memtype::UncachedMinus);
}

TEST(EffectiveMemtype, NothingCoveringIsUnverifiedNeverWriteCombining)
{
    const auto entries = parse_pat_memtype_list(fixture("pat_memtype_list.v6"));
    EXPECT_EQ(effective_memtype(entries, 0x80000000, 0x1000), Memtype::Unverified);
    EXPECT_EQ(effective_memtype({}, 0xfea00000, 0x1000), Memtype::Unverified);
}

TEST(EffectiveMemtype, PartialCoverageOrDisagreementIsUnverified)
{
    const auto entries = parse_pat_memtype_list(fixture("pat_memtype_list.v6"));
    EXPECT_EQ(effective_memtype(entries, 0xfeaff000, 0x2000), Memtype::Unverified); // runs past the end
    EXPECT_EQ(effective_memtype(entries, 0xfd000000, 0x1000), Memtype::Unverified); // WC and UC- overlap
    EXPECT_EQ(effective_memtype(entries, 0xfea00000, 0), Memtype::Unverified);
    EXPECT_EQ(effective_memtype(entries, UINT64_MAX - 0xfff, 0x2000), Memtype::Unverified);
}

TEST(Memtype, NamesRoundTrip)
{
    for (Memtype type : {Memtype::WriteCombining, Memtype::UncachedMinus, Memtype::Uncached, Memtype::WriteBack,
             Memtype::WriteThrough, Memtype::WriteProtected, Memtype::Unverified})
        EXPECT_EQ(parse_memtype_name(memtype_name(type)), type);
    EXPECT_EQ(memtype_name(Memtype::WriteCombining), "write-combining");
}

} // namespace
} // namespace wcbroker
