#include "memtype.hpp"

#include <array>
#include <utility>

namespace wcbroker {
namespace {

constexpr std::array<std::pair<Memtype, std::string_view>, 7> names{{
    {Memtype::WriteCombining, "write-combining"},
    {Memtype::UncachedMinus, "uncached-minus"},
    {Memtype::Uncached, "uncached"},
    {Memtype::WriteBack, "write-back"},
    {Memtype::WriteThrough, "write-through"},
    {Memtype::WriteProtected, "write-protected"},
    {Memtype::Unverified, "unverified"},
}};

} // namespace

std::string_view memtype_name(Memtype type)
{
    for (const auto& [value, name] : names) {
        if (value == type)
            return name;
    }
    return "unverified";
}

std::optional<Memtype> parse_memtype_name(std::string_view name)
{
    for (const auto& [value, text] : names) {
        if (text == name)
            return value;
    }
    return std::nullopt;
}

} // namespace wcbroker
