// Acquire + mmap + Release round trips through wcbrokerd, with 1, 16 and 64
// concurrent clients, against two baselines measured in the same run:
//   floor:  a minimal sdbus-c++ service on the same private bus whose
//           Acquire returns a fresh memfd and whose Release does nothing:
//           what any D-Bus fd broker costs at least;
//   direct: a root process opening and mapping the sysfs file itself, no
//           bus and no broker: what the kernel part costs.
// Every client does the same thing per iteration: two calls (Acquire,
// Release), one mmap, one store, one munmap.
//
// Usage: umockdev-wrapper bench-acquire [--quick]    Results: docs/performance.md

#include "broker-harness.hpp"
#include "sdbus-compat.hpp"
#include "wcbroker.h"

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sdbus-c++/sdbus-c++.h>
#include <sstream>
#include <sys/mman.h>
#include <unistd.h>

namespace {

using namespace wcbroker::test;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* device = "0000:00:03.0";
constexpr const char* floor_name = "org.wcbroker.BenchFloor";

// --- the three kinds of client, run as separate processes ------------------

std::vector<std::int64_t> broker_worker(int iterations)
{
    wcbroker_session* session = nullptr;
    char* error = nullptr;
    if (wcbroker_session_open(&session, &error) < 0) {
        std::fprintf(stderr, "worker: %s\n", error);
        std::exit(1);
    }
    struct wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
    request.device = device;
    request.bar = 2;
    request.length = 4096;
    std::vector<std::int64_t> latencies;
    for (int i = 0; i < iterations; ++i) {
        const auto start = Clock::now();
        wcbroker_mapping* mapping = nullptr;
        if (wcbroker_map(session, &request, &mapping, &error) < 0) {
            std::fprintf(stderr, "worker: %s\n", error);
            std::exit(1);
        }
        *static_cast<volatile char*>(wcbroker_mapping_address(mapping)) = 1;
        wcbroker_unmap(mapping);
        latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    }
    wcbroker_session_close(session);
    return latencies;
}

std::vector<std::int64_t> floor_worker(int iterations)
{
    auto connection = sdbus::createSystemBusConnection();
    auto proxy = wcbroker::sdbus_compat::make_proxy(*connection, floor_name, "/org/wcbroker/BenchFloor");
    std::vector<std::int64_t> latencies;
    for (int i = 0; i < iterations; ++i) {
        const auto start = Clock::now();
        sdbus::UnixFd fd;
        proxy->callMethod("Acquire").onInterface(floor_name).storeResultsTo(fd);
        void* view = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
        if (view == MAP_FAILED)
            std::exit(1);
        *static_cast<volatile char*>(view) = 1;
        ::munmap(view, 4096);
        proxy->callMethod("Release").onInterface(floor_name);
        latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    }
    return latencies;
}

std::vector<std::int64_t> direct_worker(int iterations, const std::string& file)
{
    std::vector<std::int64_t> latencies;
    for (int i = 0; i < iterations; ++i) {
        const auto start = Clock::now();
        const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
        void* view = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (fd < 0 || view == MAP_FAILED)
            std::exit(1);
        *static_cast<volatile char*>(view) = 1;
        ::munmap(view, 4096);
        ::close(fd);
        latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    }
    return latencies;
}

// The floor service: Acquire returns a new 4 KiB memfd; Release does nothing.
int floor_service()
{
    auto connection = sdbus::createSystemBusConnection();
    auto acquire = [](sdbus::MethodCall call) {
        const int fd = ::memfd_create("bench-floor", MFD_CLOEXEC);
        if (fd < 0 || ::ftruncate(fd, 4096) != 0)
            throw wcbroker::sdbus_compat::make_error("org.wcbroker.BenchFloor.Error", "memfd failed");
        auto reply = call.createReply();
        reply << sdbus::UnixFd(fd, sdbus::adopt_fd);
        reply.send();
    };
    auto release = [](sdbus::MethodCall call) { call.createReply().send(); };
    auto object = wcbroker::sdbus_compat::make_object(*connection, "/org/wcbroker/BenchFloor", floor_name,
        {{"Acquire", "", "h", acquire}, {"Release", "", "", release}});
    wcbroker::sdbus_compat::request_name(*connection, floor_name);
    std::printf("ready\n");
    std::fflush(stdout);
    connection->enterEventLoop();
    return 0;
}

// --- the harness -------------------------------------------------------------

struct Stats {
    double p50_us = 0;
    double p99_us = 0;
    double per_second = 0;
};

class Bench {
public:
    explicit Bench(const std::string& self)
        : harness_("<policy user=\"root\"><allow own=\"org.wcbroker.BenchFloor\"/></policy>"
                   "<policy context=\"default\"><allow send_destination=\"org.wcbroker.BenchFloor\"/></policy>")
        , self_(self)
    {
        harness_.pci().add(ivshmem(device, 3));
        harness_.write_policy("version = 1\n[[rule]]\nname = \"bench\"\n"
                              "device = { address = \"0000:00:03.0\" }\nbar = 2\n"
                              "ranges = \"all\"\naccess = \"write-combine\"\n"
                              "users = [65534]\n");
        harness_.start_daemon();
        // The floor service gets the same bus policy as wcbrokerd.
        SpawnOptions floor_options;
        floor_options.env = harness_.client_env();
        floor_ = spawn({self_, "floor-service"}, floor_options);
        floor_.read_line();
    }
    ~Bench()
    {
        floor_.signal(SIGTERM);
        floor_.wait();
    }

    Stats run(const std::string& kind, int clients, int iterations)
    {
        std::vector<Process> workers;
        const auto start = Clock::now();
        for (int i = 0; i < clients; ++i) {
            SpawnOptions options;
            options.env = harness_.client_env();
            if (kind != "direct")
                options.as = Credentials{65534, 65534, {65534}};
            workers.push_back(spawn({self_, "worker", kind, std::to_string(iterations),
                                        harness_.pci().device_dir(device) + "/resource2_wc"},
                options));
        }
        std::vector<std::int64_t> all;
        for (Process& worker : workers) {
            std::istringstream numbers(worker.rest_of_output());
            std::int64_t value = 0;
            while (numbers >> value)
                all.push_back(value);
            if (worker.wait() != 0)
                std::fprintf(stderr, "a %s worker failed: %s\n", kind.c_str(), worker.stderr_output().c_str());
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        std::sort(all.begin(), all.end());
        Stats stats;
        if (all.empty())
            return stats;
        stats.p50_us = static_cast<double>(all[all.size() / 2]) / 1000;
        stats.p99_us = static_cast<double>(all[all.size() * 99 / 100]) / 1000;
        stats.per_second = static_cast<double>(all.size()) / seconds;
        return stats;
    }

private:
    wcbroker::bench::BrokerHarness harness_;
    std::string self_;
    Process floor_;
};

} // namespace

int main(int argc, char** argv)
{
    if (argc >= 2 && std::strcmp(argv[1], "floor-service") == 0)
        return floor_service();
    if (argc >= 5 && std::strcmp(argv[1], "worker") == 0) {
        const int iterations = std::atoi(argv[3]);
        const std::string kind = argv[2];
        const auto latencies = kind == "broker" ? broker_worker(iterations)
            : kind == "floor"                   ? floor_worker(iterations)
                                                : direct_worker(iterations, argv[4]);
        for (std::int64_t ns : latencies)
            std::printf("%lld\n", static_cast<long long>(ns));
        return 0;
    }
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const std::string self = fs::canonical("/proc/self/exe");
    Bench bench(self);
    // Warm up: caches in the daemon (credentials, memtype verification) and the page cache.
    bench.run("broker", 1, 50);
    bench.run("floor", 1, 50);

    std::printf("| clients | broker p50 (us) | broker p99 (us) | broker/s | floor p50 (us) | floor p99 (us) | floor/s "
                "| direct p50 (us) | broker p50 / floor p50 |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int clients : {1, 16, 64}) {
        const int iterations = (quick ? 2000 : 8000) / clients;
        const Stats broker = bench.run("broker", clients, iterations);
        const Stats floor = bench.run("floor", clients, iterations);
        const Stats direct = bench.run("direct", clients, iterations);
        std::printf("| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.1f | %.2fx |\n", clients, broker.p50_us,
            broker.p99_us, broker.per_second, floor.p50_us, floor.p99_us, floor.per_second, direct.p50_us,
            broker.p50_us / floor.p50_us);
    }
    return 0;
}
