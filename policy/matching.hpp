// The individual tests a rule applies to a request, each able to say in
// words why it failed. Shared by the indexed evaluator and the reference scan.
#pragma once

#include "caller.hpp"
#include "device-facts.hpp"
#include "evaluator.hpp"
#include "policy.hpp"

#include <string>

namespace wcbroker {

// Each returns true on a match; on a mismatch, when `why_not` is given, it
// receives one sentence fragment naming the offending value.
bool selector_matches(const DeviceSelector& selector, const DeviceFacts& facts, std::string* why_not = nullptr);
bool rule_device_matches(const Policy& policy, const Rule& rule, const DeviceFacts& facts, std::string* why_not = nullptr);
bool rule_range_matches(const Rule& rule, const BarFacts& bar, const AccessRequest& request, std::string* why_not = nullptr);
bool rule_subject_matches(const Rule& rule, const CallerIdentity& caller, std::string* why_not = nullptr);

// cgroup "/a/b" is under prefix "/a" but not under "/a/bc"'s sibling "/a/b2".
bool cgroup_is_under(const std::string& cgroup, const std::string& prefix);

std::string describe_range(std::uint64_t offset, std::uint64_t length);

} // namespace wcbroker
