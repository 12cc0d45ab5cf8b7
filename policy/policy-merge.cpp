// Fragments of all policy files -> one Policy. Files can add selectors and
// rules; anything that would make a later file silently change an earlier
// one (a redefined name, a different global setting, one range granted both
// write-combine and uncached) is an error.

#include "byte-size.hpp"
#include "policy-fragment.hpp"
#include "policy-index.hpp"
#include "toml-reader.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

namespace wcbroker {
namespace {

// Two inline selectors written the same way are the same selector; sharing
// one entry lets conflict checks and the index treat them as one.
std::string selector_identity(const DeviceSelector& selector)
{
    std::string key;
    auto add_list = [&](char tag, const auto& values) {
        key += tag;
        for (const auto& value : values) {
            key += std::to_string(value);
            key += ',';
        }
    };
    add_list('v', selector.vendor_ids);
    add_list('d', selector.device_ids);
    add_list('s', selector.subsystem_vendor_ids);
    add_list('t', selector.subsystem_device_ids);
    add_list('g', selector.iommu_groups);
    if (selector.device_class) {
        key += 'c' + std::to_string(selector.device_class->value) + '/' + std::to_string(selector.device_class->mask);
    }
    key += 'a';
    for (const std::string& glob : selector.address_globs)
        key += glob + ',';
    key += 'r' + selector.driver;
    return key;
}

std::string list_names(const std::vector<std::string_view>& names)
{
    std::string out;
    for (std::string_view name : names) {
        if (!out.empty())
            out += ", ";
        out += name;
    }
    return out;
}

bool is_all_digits(std::string_view text)
{
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class Merger {
public:
    Merger(const LoadOptions& options, const std::string& main_file, Diagnostics& diagnostics)
        : options_(options)
        , main_file_(main_file)
        , names_(options.names != nullptr ? *options.names : system_names_)
        , diagnostics_(diagnostics)
        , policy_(std::make_shared<Policy>())
    {
    }

    std::shared_ptr<const Policy> merge(const std::vector<const PolicyFragment*>& fragments);

private:
    void merge_mode(const PolicyFragment& fragment);
    void merge_selectors(const PolicyFragment& fragment);
    void merge_rules(const PolicyFragment& fragment);
    void resolve_names(const RuleDraft& draft, Rule& rule);
    template <typename Id>
    std::optional<Id> resolve(const NameReference& reference);
    std::size_t intern_inline_selector(DeviceSelector selector);
    void report_unknown_selector(const SelectorReference& reference);
    void check_access_conflicts();

    const LoadOptions& options_;
    const std::string& main_file_;
    SystemNameResolver system_names_;
    const NameResolver& names_;
    Diagnostics& diagnostics_;
    std::shared_ptr<Policy> policy_;
    // One NSS lookup per distinct name per load, however many rules use it.
    std::unordered_map<std::string, std::optional<uid_t>> user_ids_;
    std::unordered_map<std::string, std::optional<gid_t>> group_ids_;
    std::unordered_map<std::string, std::size_t> selector_by_name_;
    std::unordered_map<std::string, std::size_t> inline_selector_by_identity_;
    std::set<std::string> invalid_selectors_;
    std::unordered_map<std::string, SourceLocation> rule_where_by_name_;
};

std::shared_ptr<const Policy> Merger::merge(const std::vector<const PolicyFragment*>& fragments)
{
    for (const PolicyFragment* fragment : fragments) {
        policy_->files.push_back(fragment->file);
        invalid_selectors_.insert(fragment->invalid_selectors.begin(), fragment->invalid_selectors.end());
        merge_mode(*fragment);
    }
    // All selectors first: a rule may use a selector from any file.
    for (const PolicyFragment* fragment : fragments)
        merge_selectors(*fragment);
    for (const PolicyFragment* fragment : fragments)
        merge_rules(*fragment);
    check_access_conflicts();
    if (diagnostics_.has_errors())
        return nullptr;
    policy_->index = std::make_shared<const PolicyIndex>(*policy_);
    return policy_;
}

void Merger::merge_mode(const PolicyFragment& fragment)
{
    if (!fragment.mode)
        return;
    // Audit mode lets every denial through, so whoever can write a drop-in
    // (a runtime one in /run included) could open every served device to
    // every user. Only the file root keeps in /etc decides it.
    if (fragment.file != main_file_) {
        diagnostics_.error(fragment.mode_where, "mode",
            "mode may be set only in the main policy file " + main_file_
                + ", not in a drop-in: a drop-in adds rules but cannot turn enforcement off");
        return;
    }
    policy_->mode = *fragment.mode;
}

void Merger::merge_selectors(const PolicyFragment& fragment)
{
    for (const DeviceSelector& selector : fragment.selectors) {
        auto existing = selector_by_name_.find(selector.name);
        if (existing != selector_by_name_.end()) {
            diagnostics_.error(selector.where, "selector." + selector.name,
                "selector '" + selector.name + "' is already defined at "
                    + policy_->selectors[existing->second].where.to_string()
                    + "; files can add selectors but not redefine them, so pick another name");
            continue;
        }
        selector_by_name_.emplace(selector.name, policy_->selectors.size());
        policy_->selectors.push_back(selector);
    }
}

std::size_t Merger::intern_inline_selector(DeviceSelector selector)
{
    auto [it, inserted] = inline_selector_by_identity_.emplace(selector_identity(selector), policy_->selectors.size());
    if (inserted)
        policy_->selectors.push_back(std::move(selector));
    return it->second;
}

void Merger::report_unknown_selector(const SelectorReference& reference)
{
    if (invalid_selectors_.count(reference.name) != 0)
        return; // its own errors were reported where it is defined
    std::vector<std::string_view> known;
    for (const auto& [name, index] : selector_by_name_)
        known.push_back(name);
    std::sort(known.begin(), known.end());
    std::string message = "unknown selector '" + reference.name + "'";
    if (known.empty())
        message += "; no [selector.NAME] tables are defined in any policy file (or write device = { ... } inline)";
    else if (auto suggestion = closest_match(reference.name, known))
        message += "; did you mean '" + std::string(*suggestion) + "'? Defined selectors: " + list_names(known);
    else
        message += "; defined selectors: " + list_names(known);
    diagnostics_.error(reference.where, reference.key, std::move(message));
}

template <typename Id>
std::optional<Id> Merger::resolve(const NameReference& reference)
{
    // By the kind of name, not by Id: uid_t and gid_t are the same type, and
    // a user and a group may share a name (dpdk the user, dpdk the group).
    auto& memo = reference.is_group ? group_ids_ : user_ids_;
    auto found = memo.find(reference.name);
    if (found == memo.end()) {
        const std::optional<Id> id = reference.is_group ? names_.group_id(reference.name) : names_.user_id(reference.name);
        found = memo.emplace(reference.name, id).first;
    }
    if (found->second)
        return found->second;
    const std::string kind = reference.is_group ? "group" : "user";
    std::string message = "no " + kind + " named '" + reference.name + "' on this host";
    if (is_all_digits(reference.name))
        message += "; to give a numeric id, write it as an integer without quotes";
    if (options_.unknown_names_are_errors) {
        diagnostics_.error(reference.where, reference.key, message + "; create it or use a numeric id");
    } else {
        diagnostics_.warning(reference.where, reference.key,
            message + "; this entry matches nobody until the policy is reloaded after the " + kind + " exists");
    }
    return std::nullopt;
}

void Merger::resolve_names(const RuleDraft& draft, Rule& rule)
{
    for (const NameReference& reference : draft.names) {
        if (reference.is_group)
            rule.groups[reference.entry].gid = resolve<gid_t>(reference);
        else
            rule.users[reference.entry].uid = resolve<uid_t>(reference);
    }
}

void Merger::merge_rules(const PolicyFragment& fragment)
{
    for (const RuleDraft& draft : fragment.rules) {
        Rule rule = draft.rule;
        resolve_names(draft, rule);
        auto existing = rule_where_by_name_.find(rule.name);
        if (existing != rule_where_by_name_.end()) {
            diagnostics_.error(rule.where, "rule[" + rule.name + "].name",
                "rule '" + rule.name + "' is already defined at " + existing->second.to_string()
                    + "; files can add rules but not redefine them, so pick another name");
            continue;
        }
        rule_where_by_name_.emplace(rule.name, rule.where);
        bool resolved = true;
        for (const SelectorReference& reference : draft.selector_refs) {
            auto found = selector_by_name_.find(reference.name);
            if (found == selector_by_name_.end()) {
                report_unknown_selector(reference);
                resolved = false;
                continue;
            }
            if (std::find(rule.selectors.begin(), rule.selectors.end(), found->second) == rule.selectors.end())
                rule.selectors.push_back(found->second);
        }
        if (draft.inline_selector)
            rule.selectors.push_back(intern_inline_selector(*draft.inline_selector));
        if (!resolved)
            continue;
        rule.order = policy_->rules.size();
        policy_->rules.push_back(std::move(rule));
    }
}

// One range of one BAR cannot be both write-combine and uncached: on x86 two
// mappings of a page with different memory types are undefined behaviour, and
// the kernel would quietly give the second one the first one's type. Only
// rules that share a selector can be checked here; the daemon also refuses a
// lease that would overlap a live lease of the other type.
void Merger::check_access_conflicts()
{
    struct Span {
        std::uint64_t begin;
        std::uint64_t end; // exclusive; UINT64_MAX for the whole BAR
        const Rule* rule;
    };
    std::map<std::pair<std::size_t, std::uint32_t>, std::vector<Span>> spans_by_selector_bar;
    for (const Rule& rule : policy_->rules) {
        for (std::size_t selector : rule.selectors) {
            auto& spans = spans_by_selector_bar[{selector, rule.bar}];
            if (rule.whole_bar) {
                spans.push_back({0, std::numeric_limits<std::uint64_t>::max(), &rule});
                continue;
            }
            for (const ByteRange& range : rule.ranges)
                spans.push_back({range.offset, range.end(), &rule});
        }
    }
    std::set<std::pair<std::size_t, std::size_t>> reported;
    for (auto& [key, spans] : spans_by_selector_bar) {
        std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
        // Sweep by start offset, remembering for each access type the span
        // reaching furthest so far: a span starting before it ends overlaps.
        const Span* furthest[2] = {nullptr, nullptr};
        for (const Span& span : spans) {
            const int access = span.rule->access == Access::WriteCombine ? 0 : 1;
            const Span* other = furthest[1 - access];
            if (other != nullptr && other->end > span.begin) {
                const Rule* earlier = other->rule->order < span.rule->order ? other->rule : span.rule;
                const Rule* later = earlier == span.rule ? other->rule : span.rule;
                if (reported.insert({earlier->order, later->order}).second) {
                    const std::string selector_name = policy_->selectors[key.first].name;
                    diagnostics_.error(later->where, "rule[" + later->name + "].access",
                        "rule '" + later->name + "' grants " + std::string(access_name(later->access)) + " on BAR "
                            + std::to_string(key.second) + " where rule " + earlier->label() + " grants "
                            + std::string(access_name(earlier->access)) + " for the same devices"
                            + (selector_name.empty() ? "" : " (selector '" + selector_name + "')")
                            + "; one page cannot be both, so make their ranges disjoint");
                }
            }
            if (furthest[access] == nullptr || furthest[access]->end < span.end)
                furthest[access] = &span;
        }
    }
}

} // namespace

std::shared_ptr<const Policy> merge_policy_fragments(const std::vector<const PolicyFragment*>& fragments,
    const std::string& main_file, const LoadOptions& options, Diagnostics& diagnostics)
{
    return Merger(options, main_file, diagnostics).merge(fragments);
}

} // namespace wcbroker
