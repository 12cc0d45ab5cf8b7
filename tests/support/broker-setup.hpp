// What the D-Bus tests (tests/dbus/broker-fixture) and the benchmarks
// (bench/broker-harness) share to run a wcbrokerd on a fake tree: its
// scratch directory, its command line, and a look at its open files.
// Free of gtest.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wcbroker::test {

// A fresh /tmp/PREFIX-XXXXXX with an empty policy/ directory, readable and
// searchable by everyone: the bus socket lives in it and clients run under
// other uids. Empty when it cannot be made.
std::filesystem::path make_broker_dir(const std::string& prefix);

// Removes DIR, unless WCBROKER_KEEP_TEST_DIR is set: then says where it was kept.
void remove_broker_dir(const std::filesystem::path& dir);

// wcbrokerd on the layout of make_broker_dir: policy from DIR/policy, lease
// records in DIR/state, devices from the fake SYSFS_ROOT, uevents from the
// kernel group (umockdev sends no udev ones).
std::vector<std::string> broker_argv(const std::string& wcbrokerd, const std::string& bus_address,
    const std::filesystem::path& dir, const std::string& sysfs_root, const std::string& log_level);

// How many file descriptors PID has open.
std::size_t open_fd_count(pid_t pid);

} // namespace wcbroker::test
