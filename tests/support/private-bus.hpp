// A dbus-daemon of the test's own, configured like Debian's system bus
// (tests/dbus/system-bus.conf.in) and including wcbroker's shipped bus
// policy unchanged, listening in a directory of the test's.
#pragma once

#include "process.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace wcbroker::test {

struct PrivateBus {
    Process daemon;
    std::string address; // empty when the daemon did not start
};

// Writes DIR/bus.conf from CONF_TEMPLATE (with @LISTEN@ and @POLICY@ filled
// in, and EXTRA_POLICY, more <policy> elements, added), starts the daemon
// with its log in DIR/dbus-daemon.log, and returns its address.
PrivateBus start_private_bus(const std::filesystem::path& dir, const std::string& conf_template,
    const std::string& bus_policy_file, const std::string& extra_policy = "");

// The environment of a client of that bus: this process's, with
// DBUS_SYSTEM_BUS_ADDRESS pointing at it and without umockdev's preload,
// which only the daemon under test needs.
std::vector<std::string> client_environment(const std::string& bus_address);

} // namespace wcbroker::test
