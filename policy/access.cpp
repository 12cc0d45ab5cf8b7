#include "access.hpp"

namespace wcbroker {

std::string_view access_name(Access access)
{
    switch (access) {
    case Access::WriteCombine:
        return "write-combine";
    case Access::Uncached:
        return "uncached";
    }
    return "invalid";
}

std::optional<Access> parse_access(std::string_view text)
{
    if (text == "write-combine")
        return Access::WriteCombine;
    if (text == "uncached")
        return Access::Uncached;
    return std::nullopt;
}

} // namespace wcbroker
