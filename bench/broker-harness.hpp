// A private system bus (configured like Debian's, with wcbroker's bus
// policy) and a wcbrokerd on a umockdev tree, for benchmarks that drive the
// daemon with real clients. Run the benchmark under umockdev-wrapper, as
// root; clients drop to nobody.
#pragma once

#include "fake-pci.hpp"
#include "process.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace wcbroker::bench {

class BrokerHarness {
public:
    // `extra_bus_policy`: more <policy> elements for the bus configuration.
    explicit BrokerHarness(const std::string& extra_bus_policy = "");
    ~BrokerHarness();
    BrokerHarness(const BrokerHarness&) = delete;
    BrokerHarness& operator=(const BrokerHarness&) = delete;

    test::FakePci& pci() { return pci_; }
    const std::filesystem::path& dir() const { return dir_; }
    void write_policy(const std::string& text);

    // Starts wcbrokerd and waits until it answers on the bus.
    void start_daemon(const std::vector<std::string>& extra_arguments = {});
    pid_t daemon_pid() const { return daemon_.pid(); }
    std::size_t daemon_fd_count() const;
    std::size_t daemon_rss_kib() const;

    // The environment a client needs: DBUS_SYSTEM_BUS_ADDRESS, no preload.
    const std::vector<std::string>& client_env() const { return env_; }

private:
    test::FakePci pci_;
    std::filesystem::path dir_;
    std::filesystem::path state_dir_; // on a tmpfs, as /run/wcbroker is
    bool state_mounted_ = false;
    std::string address_;
    std::vector<std::string> env_;
    test::Process bus_;
    test::Process daemon_;
};

} // namespace wcbroker::bench
