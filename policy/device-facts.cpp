#include "device-facts.hpp"

namespace wcbroker {

const BarFacts* DeviceFacts::bar(std::uint32_t index) const
{
    for (const BarFacts& facts : bars) {
        if (facts.index == index)
            return &facts;
    }
    return nullptr;
}

std::string_view bar_kind_name(BarKind kind)
{
    switch (kind) {
    case BarKind::Memory32:
        return "memory32";
    case BarKind::Memory64:
        return "memory64";
    case BarKind::Io:
        return "io";
    }
    return "invalid";
}

std::optional<BarKind> parse_bar_kind(std::string_view name)
{
    for (BarKind kind : {BarKind::Memory32, BarKind::Memory64, BarKind::Io}) {
        if (name == bar_kind_name(kind))
            return kind;
    }
    return std::nullopt;
}

} // namespace wcbroker
