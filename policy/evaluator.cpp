#include "evaluator.hpp"

#include "byte-size.hpp"
#include "matching.hpp"
#include "policy-index.hpp"

namespace wcbroker {
namespace {

// How much each satisfied condition counts when looking for the nearest
// rule: the device and the caller say most about what the admin meant.
constexpr int device_weight = 3;
constexpr int subject_weight = 3;
constexpr int bar_weight = 2;
constexpr int access_weight = 1;
constexpr int range_weight = 1;
// A rule must share at least this much with the request to be named: the
// device, or the caller, or the BAR and access together. Less would mislead
// more than help.
constexpr int nearest_threshold = 3;

Decision start_decision(const Policy& policy)
{
    Decision decision;
    decision.enforced = policy.mode == EnforcementMode::Enforce;
    return decision;
}

// Facts that no rule can change: the BAR must exist and contain the request.
std::vector<std::size_t> all_rule_indices(const Policy& policy)
{
    std::vector<std::size_t> all(policy.rules.size());
    for (std::size_t i = 0; i < all.size(); ++i)
        all[i] = i;
    return all;
}

const BarFacts* check_request_fits(const DeviceFacts& facts, const AccessRequest& request, Decision& decision)
{
    const BarFacts* bar = facts.bar(request.bar);
    if (bar == nullptr) {
        decision.refusal = Refusal::NoSuchBar;
        return nullptr;
    }
    if (!ByteRange{0, bar->size}.contains(request.offset, request.length)) {
        decision.refusal = Refusal::PastEndOfBar;
        return nullptr;
    }
    return bar;
}

int score_rule(const Policy& policy, const Rule& rule, bool device_known_to_match, const DeviceFacts& facts,
    const BarFacts& bar, const CallerIdentity& caller, const AccessRequest& request)
{
    int score = 0;
    if (device_known_to_match || rule_device_matches(policy, rule, facts))
        score += device_weight;
    const bool bar_ok = rule.bar == request.bar;
    if (bar_ok)
        score += bar_weight;
    if (rule.access == request.access)
        score += access_weight;
    // A range only means something on the BAR the rule is about.
    if (bar_ok && rule_range_matches(rule, bar, request))
        score += range_weight;
    if (rule_subject_matches(rule, caller))
        score += subject_weight;
    return score;
}

// Where to look for the nearest rule, most specific first. Every rule of the
// first two tiers is known to match the device.
struct NearestTiers {
    std::vector<std::size_t> same_bar_and_access;
    std::vector<std::size_t> same_device;
    bool all_rules = false; // the last resort, when the device has no rules
};

// The best-scoring rule of the first non-empty tier; ties go to the earlier rule.
const Rule* find_nearest(const Policy& policy, const NearestTiers& tiers, const DeviceFacts& facts,
    const BarFacts& bar, const CallerIdentity& caller, const AccessRequest& request)
{
    std::vector<std::size_t> everything;
    const std::vector<std::size_t>* tier = &tiers.same_bar_and_access;
    if (tier->empty())
        tier = &tiers.same_device;
    if (tier->empty() && tiers.all_rules) {
        everything = all_rule_indices(policy);
        tier = &everything;
    }
    const bool device_known_to_match = tier != &everything;
    const Rule* best = nullptr;
    int best_score = nearest_threshold - 1;
    for (std::size_t index : *tier) {
        const int score = score_rule(policy, policy.rules[index], device_known_to_match, facts, bar, caller, request);
        if (score > best_score) {
            best_score = score;
            best = &policy.rules[index];
        }
    }
    return best;
}

std::string describe_caller(const CallerIdentity& caller)
{
    return "uid " + std::to_string(caller.uid) + " (gids " + (caller.gids.empty() ? "none" : gid_list(caller.gids)) + ")";
}

std::string describe_request(const DeviceFacts& facts, const AccessRequest& request)
{
    return std::string(access_name(request.access)) + " on " + facts.address + " BAR " + std::to_string(request.bar)
        + " " + describe_range(request.offset, request.length);
}

std::string mismatch_text(const Policy& policy, const Rule& rule, const DeviceFacts& facts, const BarFacts& bar,
    const CallerIdentity& caller, const AccessRequest& request)
{
    std::string text;
    auto add = [&](const std::string& why) {
        if (!text.empty())
            text += "; ";
        text += why;
    };
    std::string why;
    if (!rule_device_matches(policy, rule, facts, &why))
        add(why);
    const bool bar_ok = rule.bar == request.bar;
    if (!bar_ok)
        add("it covers BAR " + std::to_string(rule.bar) + ", not BAR " + std::to_string(request.bar));
    if (rule.access != request.access)
        add("it grants " + std::string(access_name(rule.access)) + ", not " + std::string(access_name(request.access)));
    if (bar_ok && !rule_range_matches(rule, bar, request, &why))
        add(why);
    if (!rule_subject_matches(rule, caller, &why))
        add(why);
    return text;
}

} // namespace

Decision evaluate(const Policy& policy, const DeviceFacts& facts, const CallerIdentity& caller,
    const AccessRequest& request)
{
    if (!policy.index)
        return evaluate_by_scan(policy, facts, caller, request);
    Decision decision = start_decision(policy);
    const BarFacts* bar = check_request_fits(facts, request, decision);
    if (bar == nullptr)
        return decision;

    const PolicyIndex& index = *policy.index;
    const std::vector<std::size_t> selectors = index.matching_selectors(policy, facts);
    // Candidates are exactly the rules for this device, BAR and access that
    // can name the caller. One that does name the caller but not the range is
    // the best possible near miss, so remember the earliest.
    const Rule* caller_matches_range_does_not = nullptr;
    for (std::size_t candidate : index.candidate_rules(selectors, caller, request)) {
        const Rule& rule = policy.rules[candidate];
        if (!rule_subject_matches(rule, caller))
            continue;
        if (rule_range_matches(rule, *bar, request))
            decision.allowing_rules.push_back(&rule);
        else if (caller_matches_range_does_not == nullptr)
            caller_matches_range_does_not = &rule;
    }
    if (!decision.allowing_rules.empty()) {
        decision.allowed = true;
        decision.refusal = Refusal::None;
        return decision;
    }
    if (caller_matches_range_does_not != nullptr) {
        decision.nearest = caller_matches_range_does_not;
        return decision;
    }
    // No rule of this bucket names the caller, so they differ at most in the
    // range: the earliest with a matching range scores highest, else the first.
    NearestTiers tiers;
    tiers.same_bar_and_access = index.bucket_rules(selectors, request);
    if (!tiers.same_bar_and_access.empty()) {
        decision.nearest = &policy.rules[tiers.same_bar_and_access.front()];
        for (std::size_t index_in_bucket : tiers.same_bar_and_access) {
            if (rule_range_matches(policy.rules[index_in_bucket], *bar, request)) {
                decision.nearest = &policy.rules[index_in_bucket];
                break;
            }
        }
        return decision;
    }
    tiers.same_device = index.rules_of(selectors);
    tiers.all_rules = true;
    decision.nearest = find_nearest(policy, tiers, facts, *bar, caller, request);
    return decision;
}

Decision evaluate_by_scan(const Policy& policy, const DeviceFacts& facts, const CallerIdentity& caller,
    const AccessRequest& request)
{
    Decision decision = start_decision(policy);
    const BarFacts* bar = check_request_fits(facts, request, decision);
    if (bar == nullptr)
        return decision;

    NearestTiers tiers;
    for (const Rule& rule : policy.rules) {
        if (!rule_device_matches(policy, rule, facts))
            continue;
        tiers.same_device.push_back(rule.order);
        if (rule.bar != request.bar || rule.access != request.access)
            continue;
        tiers.same_bar_and_access.push_back(rule.order);
        if (rule_range_matches(rule, *bar, request) && rule_subject_matches(rule, caller))
            decision.allowing_rules.push_back(&rule);
    }
    if (!decision.allowing_rules.empty()) {
        decision.allowed = true;
        decision.refusal = Refusal::None;
        return decision;
    }
    tiers.all_rules = true;
    decision.nearest = find_nearest(policy, tiers, facts, *bar, caller, request);
    return decision;
}

ExplainDetail explain_detail_for(const CallerIdentity& caller)
{
    return caller.uid == 0 ? ExplainDetail::Full : ExplainDetail::VerdictAndRuleName;
}

Explanation explain(const Policy& policy, const Decision& decision, const DeviceFacts& facts,
    const CallerIdentity& caller, const AccessRequest& request, ExplainDetail detail)
{
    const bool full = detail == ExplainDetail::Full;
    auto rule_name = [full](const Rule& rule) { return full ? rule.label() : "'" + rule.name + "'"; };
    Explanation explanation;
    switch (decision.refusal) {
    case Refusal::None:
        explanation.reason = "rule " + rule_name(*decision.rule()) + " grants " + describe_request(facts, request)
            + " to " + describe_caller(caller);
        return explanation;
    case Refusal::NoSuchBar:
        explanation.reason = "device " + facts.address + " has no BAR " + std::to_string(request.bar);
        break;
    case Refusal::PastEndOfBar:
        explanation.reason = "the request " + describe_range(request.offset, request.length)
            + " goes past the end of BAR " + std::to_string(request.bar) + " ("
            + format_byte_size(facts.bar(request.bar)->size) + ")";
        break;
    case Refusal::NoRule:
        explanation.reason = "no rule grants " + describe_request(facts, request) + " to " + describe_caller(caller);
        if (decision.nearest != nullptr && full) {
            explanation.nearest_mismatch =
                mismatch_text(policy, *decision.nearest, facts, *facts.bar(request.bar), caller, request);
            explanation.reason += "; nearest is rule " + decision.nearest->label() + ": " + explanation.nearest_mismatch;
        } else if (decision.nearest != nullptr) {
            explanation.reason += "; nearest is rule '" + decision.nearest->name
                + "' (what it lacks is shown to root and in the audit log)";
        }
        break;
    }
    if (!decision.allowed && decision.granted())
        explanation.reason += " (audit mode: granted anyway)";
    return explanation;
}

} // namespace wcbroker
