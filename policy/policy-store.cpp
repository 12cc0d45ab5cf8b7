#include "policy-store.hpp"

#include "policy-index.hpp"

namespace wcbroker {

PolicyStore::PolicyStore()
{
    auto empty = std::make_shared<Policy>();
    empty->index = std::make_shared<const PolicyIndex>(*empty);
    current_ = std::move(empty);
}

ReloadOutcome PolicyStore::offer(LoadResult candidate)
{
    ReloadOutcome outcome;
    outcome.diagnostics = std::move(candidate.diagnostics);
    if (candidate.policy && !outcome.diagnostics.has_errors()) {
        current_ = std::move(candidate.policy);
        ++generation_;
        outcome.applied = true;
    }
    outcome.generation = generation_;
    return outcome;
}

} // namespace wcbroker
