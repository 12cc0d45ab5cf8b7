#include "bar-claims.hpp"

#include "log.hpp"
#include "matching.hpp"

#include <algorithm>

namespace wcbroker {

std::vector<std::uint32_t> bars_to_claim(const Policy& policy, const DeviceFacts& device)
{
    std::set<std::uint32_t> bars;
    for (const Rule& rule : policy.rules) {
        if (rule.access != Access::WriteCombine || bars.contains(rule.bar))
            continue;
        const BarFacts* bar = device.bar(rule.bar);
        if (bar == nullptr || !bar->is_memory())
            continue;
        if (rule_device_matches(policy, rule, device))
            bars.insert(rule.bar);
    }
    return {bars.begin(), bars.end()};
}

void BarClaims::update(WcaliasControl& control, const Policy& policy, const DeviceFacts& device)
{
    if (!control.usable())
        return;
    const std::vector<std::uint32_t> wanted = bars_to_claim(policy, device);
    const auto is_wanted = [&](std::uint32_t bar) { return std::find(wanted.begin(), wanted.end(), bar) != wanted.end(); };
    if (reconciled_.insert(device.address).second) {
        // Claims of a predecessor whose control fd came back from the fd
        // store are not known here: let go of every BAR the policy does not
        // want. The module answers ENOENT for one nobody claimed.
        for (const BarFacts& bar : device.bars) {
            if (bar.is_memory() && !is_wanted(bar.index))
                (void)control.unclaim(device.address, bar.index);
        }
    }
    for (std::uint32_t bar : wanted) {
        const std::pair<std::string, std::uint32_t> key{device.address, bar};
        if (held_.contains(key))
            continue;
        auto claimed = control.claim(device.address, bar);
        if (claimed) {
            held_.insert(key);
            failed_.erase(key);
            log_info("claimed BAR " + std::to_string(bar) + " of " + device.address + " through the wcalias module");
            continue;
        }
        if (!failed_.insert(key).second)
            continue;
        log_warning(claimed.error().message + "; leases of it wait until the BAR is free");
        AuditRecord record;
        record.kind = AuditKind::BarClaimFailed;
        record.message = "could not claim BAR " + std::to_string(bar) + " of " + device.address
            + " through the wcalias module: " + claimed.error().message;
        record.with("DEVICE", device.address).with("BAR", std::to_string(bar)).with("REASON", claimed.error().message);
        audit_.record(record);
    }
    for (auto it = held_.begin(); it != held_.end();) {
        if (it->first != device.address || is_wanted(it->second)) {
            ++it;
            continue;
        }
        // The module lets go of the BAR once its last alias ends; ENOENT
        // means the kernel dropped the claim already (an unbind): gone too.
        if (auto dropped = control.unclaim(it->first, it->second); !dropped)
            log_debug(dropped.error().message);
        else
            log_info("let go of BAR " + std::to_string(it->second) + " of " + it->first + ": no rule needs it any more");
        it = held_.erase(it);
    }
    for (auto it = failed_.begin(); it != failed_.end();) {
        if (it->first == device.address && !is_wanted(it->second))
            it = failed_.erase(it);
        else
            ++it;
    }
}

void BarClaims::forget(const std::string& address)
{
    std::erase_if(held_, [&](const auto& key) { return key.first == address; });
    reconciled_.erase(address);
    std::erase_if(failed_, [&](const auto& key) { return key.first == address; });
}

} // namespace wcbroker
