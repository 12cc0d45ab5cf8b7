#include "policy.hpp"

namespace wcbroker {

std::string Rule::label() const
{
    return "'" + name + "' (" + where.to_string() + ")";
}

std::string_view enforcement_mode_name(EnforcementMode mode)
{
    return mode == EnforcementMode::Audit ? "audit" : "enforce";
}

const DeviceSelector* Policy::find_selector(std::string_view name) const
{
    for (const DeviceSelector& selector : selectors) {
        if (!selector.name.empty() && selector.name == name)
            return &selector;
    }
    return nullptr;
}

const Rule* Policy::find_rule(std::string_view name) const
{
    for (const Rule& rule : rules) {
        if (rule.name == name)
            return &rule;
    }
    return nullptr;
}

} // namespace wcbroker
