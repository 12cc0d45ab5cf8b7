// Load: 1,000 client connections open at once, each doing 100 Acquire +
// mmap + store + munmap + Release cycles, against a 256-device fake tree.
// The policy grants write-combining on BAR 2 of the devices at even slots
// only, so every cycle's outcome is known in advance: a grant on an even
// slot, AccessDenied on an odd one. Checks, and exits non-zero otherwise:
//   - every cycle ended as the policy says (no surprise grant or refusal);
//   - the daemon's fd count is back to its baseline once the clients are
//     gone, and no lease is left;
// and reports the latency of a cycle (p50, p99, max), the throughput, and
// the daemon's RSS before, at the peak and after.
//
// Usage: umockdev-wrapper bench-load [CONNECTIONS CYCLES]   (default 1000 100)
// Results: docs/performance.md

#include "broker-harness.hpp"
#include "wcbroker.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

namespace {

using namespace wcbroker::test;
using Clock = std::chrono::steady_clock;

constexpr int devices = 256;
constexpr int workers = 20; // processes; each holds CONNECTIONS / workers sessions
const Credentials nobody{65534, 65534, {65534}};

std::string address_of(int slot)
{
    char address[16];
    std::snprintf(address, sizeof address, "0000:%02x:%02x.0", 1 + slot / 32, slot % 32);
    return address;
}

// A worker process: opens its sessions, waits for its stdin to close, so
// that all connections are open at once, then runs the cycles round-robin
// over its sessions. Prints one latency (ns) per cycle, then "mismatches=N".
int worker(int first_connection, int connections, int cycles)
{
    std::vector<wcbroker_session*> sessions(static_cast<std::size_t>(connections));
    for (auto& session : sessions) {
        char* error = nullptr;
        if (wcbroker_session_open(&session, &error) < 0) {
            std::fprintf(stderr, "worker: %s\n", error);
            return 1;
        }
    }
    std::printf("open\n");
    std::fflush(stdout);
    while (std::fgetc(stdin) != EOF) {
    }

    long mismatches = 0;
    std::vector<std::int64_t> latencies;
    latencies.reserve(static_cast<std::size_t>(connections * cycles));
    for (int cycle = 0; cycle < cycles; ++cycle) {
        for (int i = 0; i < connections; ++i) {
            const int slot = (first_connection + i + cycle) % devices;
            const std::string device = address_of(slot);
            struct wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
            request.device = device.c_str();
            request.bar = 2;
            request.length = 4096;
            const auto start = Clock::now();
            wcbroker_mapping* mapping = nullptr;
            char* error = nullptr;
            const int r = wcbroker_map(sessions[static_cast<std::size_t>(i)], &request, &mapping, &error);
            const bool allowed = slot % 2 == 0;
            if (r == 0) {
                *static_cast<volatile char*>(wcbroker_mapping_address(mapping)) = 1;
                wcbroker_unmap(mapping);
            }
            latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
            if ((r == 0) != allowed || (r != 0 && r != -EACCES)) {
                if (mismatches++ < 3)
                    std::fprintf(stderr, "worker: %s: r=%d %s\n", device.c_str(), r, error != nullptr ? error : "");
            }
            std::free(error);
        }
    }
    for (auto* session : sessions)
        wcbroker_session_close(session);
    for (std::int64_t ns : latencies)
        std::printf("%lld\n", static_cast<long long>(ns));
    std::printf("mismatches=%ld\n", mismatches);
    return 0;
}

double percentile(const std::vector<std::int64_t>& sorted, double fraction)
{
    return static_cast<double>(sorted[static_cast<std::size_t>(static_cast<double>(sorted.size() - 1) * fraction)]) / 1000;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 5 && std::strcmp(argv[1], "worker") == 0)
        return worker(std::atoi(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]));
    const int connections = argc >= 3 ? std::atoi(argv[1]) : 1000;
    const int cycles = argc >= 3 ? std::atoi(argv[2]) : 100;
    const std::string self = std::filesystem::canonical("/proc/self/exe");

    wcbroker::bench::BrokerHarness harness;
    for (int slot = 0; slot < devices; ++slot)
        harness.pci().add(ivshmem(address_of(slot), static_cast<std::uint32_t>(slot + 10)));
    harness.write_policy("version = 1\n[selector.even]\naddress = \"0000:*:*[02468ace].0\"\n"
                         "[[rule]]\nname = \"even-slots\"\ndevices = [\"even\"]\nbar = 2\nranges = \"all\"\n"
                         "access = \"write-combine\"\nusers = [65534]\n");
    harness.start_daemon();

    // Warm-up, then the baseline.
    auto run_workers = [&](int total, int rounds, std::vector<std::int64_t>& latencies, long& mismatches,
                           std::size_t* peak_rss) {
        std::vector<Process> processes;
        const int per_worker = std::max(1, total / workers);
        for (int w = 0; w * per_worker < total; ++w) {
            SpawnOptions options;
            options.as = nobody;
            options.env = harness.client_env();
            options.stdin_pipe = true;
            processes.push_back(spawn({self, "worker", std::to_string(w * per_worker),
                                          std::to_string(std::min(per_worker, total - w * per_worker)),
                                          std::to_string(rounds)},
                options));
        }
        for (Process& process : processes) {
            if (process.read_line(std::chrono::seconds(60)) != "open") {
                std::fprintf(stderr, "a worker could not open its sessions: %s\n", process.stderr_output().c_str());
                std::exit(1);
            }
        }
        std::atomic<bool> running{true};
        std::thread sampler([&] {
            while (running) {
                if (peak_rss != nullptr)
                    *peak_rss = std::max(*peak_rss, harness.daemon_rss_kib());
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        });
        const auto start = Clock::now();
        for (Process& process : processes)
            process.close_stdin(); // go
        for (Process& process : processes) {
            std::istringstream lines(process.rest_of_output());
            for (std::string line; std::getline(lines, line);) {
                if (line.rfind("mismatches=", 0) == 0)
                    mismatches += std::stol(line.substr(11));
                else if (!line.empty() && line != "open")
                    latencies.push_back(std::stoll(line));
            }
            if (process.wait(std::chrono::minutes(10)) != 0) {
                std::fprintf(stderr, "a worker failed: %s\n", process.stderr_output().c_str());
                ++mismatches;
            }
        }
        running = false;
        sampler.join();
        return std::chrono::duration<double>(Clock::now() - start).count();
    };
    // Waits for the daemon to finish with departed clients.
    auto settle = [&](std::size_t fds) {
        for (int i = 0; i < 500 && harness.daemon_fd_count() != fds; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    };

    // Warm-up: every device once, so that the baseline includes what the
    // daemon caches per device (the verified memory type of each BAR).
    std::vector<std::int64_t> warmup;
    long warmup_mismatches = 0;
    run_workers(devices, 1, warmup, warmup_mismatches, nullptr);
    std::this_thread::sleep_for(std::chrono::seconds(6));
    const std::size_t fd_baseline = harness.daemon_fd_count();
    const std::size_t rss_baseline = harness.daemon_rss_kib();

    std::vector<std::int64_t> latencies;
    long mismatches = warmup_mismatches;
    std::size_t rss_peak = rss_baseline;
    const double seconds = run_workers(connections, cycles, latencies, mismatches, &rss_peak);
    settle(fd_baseline);
    const std::size_t fd_after = harness.daemon_fd_count();
    // The daemon hands freed memory back on its 5-second status tick.
    std::this_thread::sleep_for(std::chrono::seconds(6));
    const std::size_t rss_after = harness.daemon_rss_kib();
    std::sort(latencies.begin(), latencies.end());
    const std::size_t expected_cycles = static_cast<std::size_t>(connections) * static_cast<std::size_t>(cycles);
    std::printf("connections %d, cycles each %d, devices %d: %zu cycles in %.1f s, %.0f cycles/s\n", connections,
        cycles, devices, latencies.size(), seconds, static_cast<double>(latencies.size()) / seconds);
    if (!latencies.empty()) {
        std::printf("cycle latency (Acquire + mmap + store + munmap + Release, or a refused Acquire): "
                    "p50 %.0f us, p99 %.0f us, max %.0f us\n",
            percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 1.0));
    }
    std::printf("daemon fds: baseline %zu, after %zu; RSS: baseline %zu KiB, peak %zu KiB, after %zu KiB\n",
        fd_baseline, fd_after, rss_baseline, rss_peak, rss_after);
    std::printf("outcomes not as the policy says: %ld\n", mismatches);

    // Within 4 MiB of the baseline: heap the allocator keeps after a burst.
    // Measured flat over repeated rounds (docs/performance.md), which a leak
    // would not be.
    const bool rss_back = rss_after <= rss_baseline + 4096;
    const bool ok = mismatches == 0 && latencies.size() == expected_cycles && fd_after == fd_baseline && rss_back;
    std::printf("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
