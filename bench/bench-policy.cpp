// Policy decision latency and load/reload time at 100, 1,000 and 10,000 rules
// over 256 devices. The reference scan (evaluate_by_scan) over the same policy
// is measured in the same run as the baseline, so the numbers are read as
// ratios that hold on a noisy shared machine. Results: docs/performance.md.
//
// Loads are timed three ways: everything in one file, parsed cold; the
// rules in drop-ins of 100 rules each, parsed cold (daemon start); and a
// reload after one drop-in changed, with the daemon's PolicyFileCache warm.
//
// Usage: bench-policy [--quick]

#include "evaluator.hpp"
#include "policy-loader.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace wcbroker;

constexpr int device_count = 256;
constexpr int uid_count = 64;

std::string device_address(int index)
{
    char text[16];
    std::snprintf(text, sizeof text, "0000:%02x:00.0", index);
    return text;
}

// A fleet policy: one selector per device by address (how admins pin
// devices), rules spread over devices and 64 service uids, each rule granting
// its own 4 KiB page of BAR 2 write-combine, every eighth a page of BAR 0
// uncached instead. `tag` varies one rule's text to make a changed file.
std::string fleet_selectors()
{
    std::string text = "version = 1\n";
    for (int d = 0; d < device_count; ++d)
        text += "[selector.dev" + std::to_string(d) + "]\naddress = \"" + device_address(d) + "\"\nvendor = 0x8086\n";
    return text;
}

std::string fleet_rules(int first, int count, const std::string& tag = "")
{
    std::string text = "version = 1\n";
    for (int r = first; r < first + count; ++r) {
        const int device = r % device_count;
        const int page = r / device_count;
        const bool uncached = r % 8 == 7;
        text += "[[rule]]\nname = \"r" + std::to_string(r) + "\"\ndevices = [\"dev" + std::to_string(device) + "\"]\n";
        text += uncached ? "bar = 0\n" : "bar = 2\n";
        text += "ranges = [ { offset = " + std::to_string(page * 4096) + ", length = 4096 } ]\n";
        text += uncached ? "access = \"uncached\"\n" : "access = \"write-combine\"\n";
        text += "users = [" + std::to_string(1000 + r % uid_count) + "]\n";
        text += "groups = [" + std::to_string(2000 + r % 16) + "]\n";
        if (r == first && !tag.empty())
            text += "description = \"" + tag + "\"\n";
    }
    return text;
}

using Files = std::vector<std::pair<std::string, std::string>>;

Files one_file(int rules)
{
    return {{"policy.toml", fleet_selectors() + fleet_rules(0, rules).substr(std::strlen("version = 1\n"))}};
}

Files dropins(int rules, const std::string& tag = "")
{
    Files files{{"policy.toml", fleet_selectors()}};
    for (int first = 0; first < rules; first += 100) {
        char name[32];
        std::snprintf(name, sizeof name, "policy.d/%05d.toml", first / 100);
        files.emplace_back(name, fleet_rules(first, std::min(100, rules - first), first == 0 ? tag : ""));
    }
    return files;
}

DeviceFacts device(int index)
{
    DeviceFacts facts;
    facts.address = device_address(index);
    facts.vendor_id = 0x8086;
    facts.device_id = 0x1572;
    facts.driver = "vfio-pci";
    for (std::uint32_t bar : {0u, 2u}) {
        BarFacts b;
        b.index = bar;
        b.size = 64 << 20;
        b.prefetchable = bar == 2;
        facts.bars.push_back(b);
    }
    return facts;
}

struct Query {
    int device;
    CallerIdentity caller;
    AccessRequest request;
};

// Half the queries are exactly some rule's grant (allowed), half ask for a
// page with the wrong uid (denied, which also computes the nearest rule).
std::vector<Query> make_queries(int rules, int count)
{
    std::mt19937 random(42);
    std::vector<Query> queries;
    for (int i = 0; i < count; ++i) {
        const int r = static_cast<int>(random() % static_cast<unsigned>(rules));
        const bool uncached = r % 8 == 7;
        const bool allow = i % 2 == 0;
        const uid_t uid = static_cast<uid_t>(1000 + (allow ? r % uid_count : (r + 1) % uid_count));
        Query q{r % device_count, {uid, {static_cast<gid_t>(3000)}, 1, std::nullopt, std::nullopt},
            {uncached ? 0u : 2u, static_cast<std::uint64_t>(r / device_count) * 4096, 4096,
                uncached ? Access::Uncached : Access::WriteCombine}};
        queries.push_back(q);
    }
    return queries;
}

template <typename Function>
double median_ns_per_call(int calls, int repeats, Function function)
{
    std::vector<double> samples;
    for (int rep = 0; rep < repeats; ++rep) {
        const auto start = Clock::now();
        for (int i = 0; i < calls; ++i)
            function(i);
        const std::chrono::duration<double, std::nano> elapsed = Clock::now() - start;
        samples.push_back(elapsed.count() / calls);
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const int repeats = quick ? 3 : 7;
    std::vector<DeviceFacts> devices;
    for (int d = 0; d < device_count; ++d)
        devices.push_back(device(d));

    std::printf("| rules | load, one file (ms) | load, drop-ins (ms) | reload, 1 drop-in changed (ms) "
                "| decision, indexed (ns) | decision, scan (ns) | scan / indexed | allowed |\n");
    std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    double first_indexed = 0;
    double last_indexed = 0;
    for (int rules : {100, 1000, 10000}) {
        LoadOptions options;
        options.unknown_names_are_errors = false;
        LoadResult loaded;
        const Files single = one_file(rules);
        const double one_file_ns = median_ns_per_call(1, quick ? 1 : 3, [&](int) {
            loaded = load_policy_from_texts(single, options);
        });
        const Files split = dropins(rules);
        const double dropins_ns = median_ns_per_call(1, quick ? 1 : 3, [&](int) {
            loaded = load_policy_from_texts(split, options);
        });
        // Alternate between two versions of the first drop-in, as an admin
        // editing it would, with the cache warm from the previous load.
        PolicyFileCache cache;
        load_policy_from_texts(split, options, &cache);
        const Files edited = dropins(rules, "edited");
        const double reload_ns = median_ns_per_call(1, quick ? 3 : 7, [&](int) {
            static int round = 0;
            loaded = load_policy_from_texts(++round % 2 ? edited : split, options, &cache);
        });
        if (!loaded.policy) {
            std::fprintf(stderr, "generated policy did not load: %s\n",
                loaded.diagnostics.all().empty() ? "?" : loaded.diagnostics.all()[0].to_string().c_str());
            return 1;
        }
        const Policy& policy = *loaded.policy;
        const std::vector<Query> queries = make_queries(rules, 4096);
        int allowed = 0;
        for (const Query& q : queries)
            allowed += evaluate(policy, devices[static_cast<std::size_t>(q.device)], q.caller, q.request).allowed;
        const int calls = quick ? 20000 : 100000;
        const double indexed = median_ns_per_call(calls, repeats, [&](int i) {
            const Query& q = queries[static_cast<std::size_t>(i) % queries.size()];
            const Decision d = evaluate(policy, devices[static_cast<std::size_t>(q.device)], q.caller, q.request);
            if (!d.allowed && d.nearest == nullptr)
                std::abort(); // every query here has a nearest rule
        });
        // The scan is slow at 10,000 rules; fewer calls keep each sample near 50 ms.
        const int scan_calls = std::max(20, 20000000 / (rules * 100));
        const double scan = median_ns_per_call(scan_calls, repeats, [&](int i) {
            const Query& q = queries[static_cast<std::size_t>(i) % queries.size()];
            const Decision d = evaluate_by_scan(policy, devices[static_cast<std::size_t>(q.device)], q.caller, q.request);
            if (!d.allowed && d.nearest == nullptr)
                std::abort();
        });
        if (rules == 100)
            first_indexed = indexed;
        last_indexed = indexed;
        std::printf("| %d | %.1f | %.1f | %.1f | %.0f | %.0f | %.1fx | %d/%zu |\n", rules, one_file_ns / 1e6,
            dropins_ns / 1e6, reload_ns / 1e6, indexed, scan, scan / indexed, allowed, queries.size());
    }
    std::printf("\nDecision cost at 10,000 rules / at 100 rules: %.2fx for 100x the rules.\n", last_indexed / first_indexed);
    return 0;
}
