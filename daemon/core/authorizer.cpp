#include "authorizer.hpp"

namespace wcbroker {
namespace {

constexpr uid_t root = 0;

Verdict allow()
{
    return {true, "", std::nullopt};
}

Verdict deny(std::string reason)
{
    return {false, std::move(reason), std::nullopt};
}

struct Rules {
    const Caller& caller;

    // Reading is open to every local user: device facts are public in sysfs,
    // and lease metadata is like a process list. Explain and ListGrants
    // answer only for the caller itself.
    Verdict operator()(const action::ListDevices&) const { return allow(); }
    Verdict operator()(const action::ListLeases&) const { return allow(); }
    Verdict operator()(const action::Explain&) const { return allow(); }
    Verdict operator()(const action::ListGrants&) const { return allow(); }

    // Device memory: only what the policy grants this caller.
    Verdict operator()(const action::Acquire& acquire) const
    {
        if (acquire.policy == nullptr || acquire.device == nullptr)
            return deny("internal error: no policy or device to decide on");
        Decision decision = evaluate(*acquire.policy, *acquire.device, caller.identity, acquire.request);
        Verdict verdict;
        verdict.allowed = decision.granted();
        if (!verdict.allowed)
            verdict.reason = explain(*acquire.policy, decision, *acquire.device, caller.identity, acquire.request).reason;
        verdict.policy = std::move(decision);
        return verdict;
    }

    // A lease belongs to the connection that acquired it; root may end any.
    Verdict operator()(const action::Release& release) const
    {
        if (release.lease == nullptr)
            return deny("no such lease");
        if (release.lease->owner == caller.bus_name || caller.identity.uid == root)
            return allow();
        return deny("lease " + std::to_string(release.lease->id) + " belongs to " + release.lease->owner
            + " (uid " + std::to_string(release.lease->holder.uid) + "); only its owner or root can release it");
    }

    // Changing what everyone may map is root's business.
    Verdict operator()(const action::Reload&) const
    {
        if (caller.identity.uid == root)
            return allow();
        return deny("only root can reload the policy (uid " + std::to_string(caller.identity.uid)
            + " asked); run 'sudo wcbrokerctl reload'");
    }
};

} // namespace

Verdict authorize(const Caller& caller, const Action& action)
{
    return std::visit(Rules{caller}, action);
}

} // namespace wcbroker
