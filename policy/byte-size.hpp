// Byte counts as admins write them ("2MiB", "0x1000", 4096) and as we print them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wcbroker {

// Parses a decimal or 0x-hex number with an optional binary unit suffix
// (B, KiB, MiB, GiB, TiB). Decimal units (KB, MB) are refused on purpose:
// "2MB" in a BAR layout is almost always meant as 2 MiB, and guessing is how
// ranges end up one page short. Returns nullopt on malformed text or overflow.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

// Human form: the largest binary unit that divides the value exactly, else hex.
std::string format_byte_size(std::uint64_t bytes);

// "0x1000"; with `digits`, zero-padded to that many hex digits ("0x0ec2").
std::string format_hex(std::uint64_t value, int digits = 0);

} // namespace wcbroker
