// Device facts as a TOML file, so `explain` can answer for a device that is
// not on this host (planning a policy for a fleet) and tests can describe one.
// The same keys are printed by `wcbrokerctl show-device --facts`.
#pragma once

#include "device-facts.hpp"
#include "diagnostics.hpp"

#include <optional>
#include <string>
#include <toml++/toml.h>

namespace wcbroker::cli {

std::optional<DeviceFacts> read_device_facts_file(const std::string& path, Diagnostics& diagnostics);

std::optional<DeviceFacts> parse_device_facts(const std::string& file, std::string_view text,
    Diagnostics& diagnostics);

toml::table device_facts_to_toml(const DeviceFacts& facts);

} // namespace wcbroker::cli
