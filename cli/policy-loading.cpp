#include "policy-loading.hpp"

#include <cstdio>
#include <unistd.h>

namespace wcbroker::cli {

LoadResult load_chosen_policy(const PolicyChoice& choice, bool unknown_names_are_errors)
{
    LoadOptions options;
    options.unknown_names_are_errors = unknown_names_are_errors;
    options.page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    if (!choice.files.empty())
        return load_policy_files(choice.files, options);
    return load_policy(choice.directory ? policy_sources_in(*choice.directory) : default_policy_sources(), options);
}

void print_diagnostics(const Diagnostics& diagnostics)
{
    for (const Diagnostic& diagnostic : diagnostics.all())
        std::fprintf(stderr, "%s\n", diagnostic.to_string().c_str());
}

} // namespace wcbroker::cli
