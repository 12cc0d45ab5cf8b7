// The two memory types a lease can ask for.
#pragma once

#include <optional>
#include <string_view>

namespace wcbroker {

enum class Access {
    WriteCombine,
    Uncached,
};

// Policy and D-Bus spelling: "write-combine" and "uncached".
std::string_view access_name(Access access);

// Accepts only the canonical spellings; the CLI maps its short "wc"/"uc" itself.
std::optional<Access> parse_access(std::string_view text);

} // namespace wcbroker
