// The normalized view of a loaded policy that check-policy prints: every
// value resolved (names to ids, sizes to bytes) and every rule in the order
// it is evaluated, so an admin sees what wcbrokerd will actually enforce.
#pragma once

#include "policy-loader.hpp"

#include <string>
#include <toml++/toml.h>

namespace wcbroker::cli {

std::string policy_summary_text(const Policy& policy);
toml::table policy_summary_json(const Policy& policy);
toml::array diagnostics_json(const Diagnostics& diagnostics);

std::string describe_selector(const DeviceSelector& selector);
std::string describe_rule_ranges(const Rule& rule);

} // namespace wcbroker::cli
