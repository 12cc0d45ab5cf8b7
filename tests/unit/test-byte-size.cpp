#include "byte-size.hpp"

#include <gtest/gtest.h>

namespace wcbroker {
namespace {

TEST(ByteSize, ParsesPlainDecimalAndHex)
{
    EXPECT_EQ(parse_byte_size("4096"), 4096u);
    EXPECT_EQ(parse_byte_size("0x1000"), 4096u);
    EXPECT_EQ(parse_byte_size("0"), 0u);
    EXPECT_EQ(parse_byte_size(" 12 "), 12u);
}

TEST(ByteSize, ParsesBinaryUnits)
{
    EXPECT_EQ(parse_byte_size("4KiB"), 4096u);
    EXPECT_EQ(parse_byte_size("2MiB"), 2u << 20);
    EXPECT_EQ(parse_byte_size("1 GiB"), 1u << 30);
    EXPECT_EQ(parse_byte_size("3TiB"), std::uint64_t{3} << 40);
    EXPECT_EQ(parse_byte_size("512B"), 512u);
    EXPECT_EQ(parse_byte_size("0x10MiB"), 16u << 20);
}

TEST(ByteSize, RefusesDecimalUnitsGarbageAndOverflow)
{
    EXPECT_FALSE(parse_byte_size("2MB"));
    EXPECT_FALSE(parse_byte_size("2M"));
    EXPECT_FALSE(parse_byte_size("KiB"));
    EXPECT_FALSE(parse_byte_size(""));
    EXPECT_FALSE(parse_byte_size("-4096"));
    EXPECT_FALSE(parse_byte_size("0x"));
    EXPECT_FALSE(parse_byte_size("16777216TiB")); // 2^24 * 2^40 overflows 64 bits
    EXPECT_FALSE(parse_byte_size("18446744073709551616"));
    EXPECT_EQ(parse_byte_size("16777215TiB"), std::uint64_t{16777215} << 40);
}

TEST(ByteSize, FormatsWithTheLargestExactUnit)
{
    EXPECT_EQ(format_byte_size(0), "0");
    EXPECT_EQ(format_byte_size(4096), "4KiB");
    EXPECT_EQ(format_byte_size(3u << 20), "3MiB");
    EXPECT_EQ(format_byte_size((1u << 20) + 4096), "1028KiB");
    EXPECT_EQ(format_byte_size(100), "0x64");
}

TEST(ByteSize, FormatsHexWithOptionalPadding)
{
    EXPECT_EQ(format_hex(0x1d0f), "0x1d0f");
    EXPECT_EQ(format_hex(0xec2, 4), "0x0ec2");
    EXPECT_EQ(format_hex(0x20000, 6), "0x020000");
}

} // namespace
} // namespace wcbroker
