// What the arguments of the D-Bus methods mean, before the broker sees them:
// Acquire's options dictionary, whose keys and value types are open to any
// client. Kept apart from the adaptor so the fuzzer can drive exactly what
// the daemon does with a decoded message.
#pragma once

#include "broker.hpp"

#include <map>
#include <sdbus-c++/sdbus-c++.h>
#include <string>

namespace wcbroker {

// Known options: "require_verified_wc" (b) and "label" (s). Anything else,
// or a known key with another type, is an InvalidArgument naming both.
Expected<AcquireArguments> acquire_arguments(const std::string& device, std::uint32_t bar, std::uint64_t offset,
    std::uint64_t length, const std::string& access, const std::map<std::string, sdbus::Variant>& options);

RequestArguments request_arguments(const std::string& device, std::uint32_t bar, std::uint64_t offset,
    std::uint64_t length, const std::string& access);

} // namespace wcbroker
