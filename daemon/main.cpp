// wcbrokerd: wires the pieces together and runs the event loop.

#include "broker-dbus.hpp"
#include "bus-event-source.hpp"
#include "daemon-options.hpp"
#include "lease-recovery.hpp"
#include "refusal-throttle.hpp"
#include "sdbus-compat.hpp"

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <malloc.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

using namespace wcbroker;

namespace {

std::unique_ptr<sdbus::IConnection> connect_bus(const std::string& bus)
{
    if (bus == "system")
        return sdbus::createSystemBusConnection();
    if (bus == "session")
        return sdbus::createSessionBusConnection();
    return sdbus::createSessionBusConnectionWithAddress(bus);
}

bool name_has_owner(sdbus::IConnection& connection, const std::string& name)
{
    auto bus = sdbus_compat::make_proxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    bool owned = false;
    bus->callMethod("NameHasOwner").onInterface("org.freedesktop.DBus").withArguments(name).storeResultsTo(owned);
    return owned;
}

// Each lease holds one fd in the daemon; the soft limit of 1024 would cap
// the host at about a thousand leases.
void raise_fd_limit()
{
    struct rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int run(const DaemonOptions& options)
{
    // sd-event takes these through signalfd; they must be blocked first.
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : {SIGTERM, SIGINT, SIGHUP})
        sigaddset(&signals, signal);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    // First, before anything else opens an fd: the fds a predecessor left
    // in systemd's fd store (lease fds, and the wcalias control fd).
    LeaseStateKeeper::StoredFds stored = LeaseStateKeeper::take_stored_fds();

    EventLoop loop;
    // Sends WATCHDOG=1 when the service has WatchdogSec=; a wedged loop stops it.
    sd_event_set_watchdog(loop.get(), 1);

    const KernelPaths paths(options.sysfs_root);
    SystemAuditLog journal;
    // Refusals are what any local user can cause at will: throttled per uid.
    RefusalThrottle audit(journal);
    BrokerConfig config;
    config.paths = paths;
    if (options.policy_dir)
        config.policy_sources = policy_sources_in(*options.policy_dir);
    config.load_options.unknown_names_are_errors = false;
    config.load_options.page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    config.max_leases_per_uid = options.max_leases_per_uid;
    Broker broker(config, audit);
    if (!broker.load_initial_policy().applied)
        log_error("the policy has errors (above); denying every request until a valid policy is loaded");

    // Under systemd, each lease's fd also goes to the fd store, so that a
    // restarted daemon can prove what its predecessor's clients map; the
    // wcalias control fd too, so that a restart revokes no alias.
    const bool under_service_manager = std::getenv("NOTIFY_SOCKET") != nullptr;
    // Before cold-plug: the BARs the policy serves through the module are
    // claimed as each device is found.
    std::unique_ptr<WcaliasControl> wcalias = WcaliasControl::open(paths, std::move(stored.wcalias_control));
    if (wcalias->usable()) {
        log_info("the wcalias module (version " + (wcalias->status().module_version.empty() ? std::string("unknown")
                    : wcalias->status().module_version) + ", API " + std::to_string(wcalias->status().api_version)
            + ") serves leases with kernel-enforced ranges"
            + (wcalias->from_store() ? "; its control fd came back from the fd store" : ""));
        if (under_service_manager && !wcalias->from_store())
            LeaseStateKeeper::store_wcalias_control(wcalias->fd());
    } else {
        log_info("leases are served through sysfs (ranges advisory): " + wcalias->why_unusable());
    }
    broker.set_wcalias(wcalias.get());

    DeviceTracker tracker(loop, paths, broker);
    broker.attach(tracker.registry());
    tracker.start(options.udev_source);

    std::unique_ptr<sdbus::IConnection> connection = connect_bus(options.bus);
    // The plain message for the common mistake; what keeps two daemons off
    // each other's lease records is the lock on the state directory below.
    if (name_has_owner(*connection, "org.wcbroker.Broker1")) {
        log_error("org.wcbroker.Broker1 already has an owner on the " + options.bus + " bus: another wcbrokerd is running");
        return 1;
    }
    BusEventSource bus_source(loop.get(), *connection);
    BusCredentials credentials(*connection, paths, [&](const std::string& name) { broker.client_gone(name); });
    BrokerDbus dbus(*connection, loop, broker, credentials, tracker);
    broker.set_observer(&dbus);
    LeaseStateKeeper lease_state(options.state_dir + "/leases", credentials.bus_id(), under_service_manager);
    if (lease_state.in_use_by_another_daemon()) {
        log_error("another wcbrokerd keeps its leases in " + options.state_dir
            + "; give each daemon its own --state-dir");
        broker.set_observer(nullptr);
        return 1;
    }
    broker.set_persistence(&lease_state);
    recover_leases(broker, lease_state, credentials, std::move(stored.leases));
    try {
        sdbus_compat::request_name(*connection, "org.wcbroker.Broker1");
    } catch (const sdbus::Error& error) {
        log_error("cannot own org.wcbroker.Broker1 on the " + options.bus + " bus (" + error.getMessage()
            + "): another wcbrokerd is running, or the bus policy does not allow this user to own it");
        broker.set_observer(nullptr);
        broker.set_persistence(nullptr);
        return 1;
    }

    auto notify_status = [&] { sd_notifyf(0, "STATUS=%s", broker.status().c_str()); };
    EventSource stop_term = loop.add_signal(SIGTERM, [&] { loop.exit(0); });
    EventSource stop_int = loop.add_signal(SIGINT, [&] { loop.exit(0); });
    EventSource reload = loop.add_signal(SIGHUP, [&] {
        // MONOTONIC_USEC lets a Type=notify-reload unit (systemd 253+) match
        // this to its request; the shipped unit reloads through ExecReload.
        struct timespec now {};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
            static_cast<unsigned long long>(now.tv_sec) * 1000000ULL + static_cast<unsigned long long>(now.tv_nsec) / 1000);
        broker.reload_requested_by_signal();
        sd_notifyf(0, "READY=1\nSTATUS=%s", broker.status().c_str());
    });
    // STATUS= is cheap but not free; refresh it every few seconds.
    std::function<void()> refresh;
    EventSource status_timer;
    // After leases have come and gone, glibc keeps the freed heap pages;
    // hand them back, so that a burst of clients does not leave the daemon
    // holding its peak memory for good.
    std::uint64_t leases_ended_at_trim = 0;
    refresh = [&] {
        notify_status();
        audit.flush();
        if (broker.leases_ended() != leases_ended_at_trim) {
            leases_ended_at_trim = broker.leases_ended();
            ::malloc_trim(0);
        }
        status_timer = loop.add_timer(std::chrono::seconds(5), refresh);
    };

    // A driver's claim on a BAR ends its sysfs mappings in the kernel at
    // once, with no event to hear: look at /proc/iomem twice a second while
    // any lease is live (one read for all of them), and not at all
    // otherwise.
    std::function<void()> watch_claims;
    EventSource claim_timer;
    watch_claims = [&] {
        broker.end_leases_on_claimed_bars();
        claim_timer = loop.add_timer(std::chrono::milliseconds(500), watch_claims);
    };
    watch_claims();

    log_info("ready on the " + options.bus + " bus as org.wcbroker.Broker1: " + broker.status());
    sd_notifyf(0, "READY=1\nSTATUS=%s", broker.status().c_str());
    refresh();

    const int status = loop.run();
    sd_notify(0, "STOPPING=1");
    log_info("stopping: " + broker.status());
    audit.flush(true);
    broker.set_observer(nullptr);
    broker.set_persistence(nullptr);
    broker.set_wcalias(nullptr);
    return status;
}

} // namespace

int main(int argc, char** argv)
{
    auto parsed = parse_daemon_options(argc, argv);
    if (const int* exit_status = std::get_if<int>(&parsed))
        return *exit_status;
    const DaemonOptions& options = std::get<DaemonOptions>(parsed);
    set_log_level(options.log_level);
    try {
        return run(options);
    } catch (const sdbus::Error& error) {
        log_error("D-Bus: " + error.getName() + ": " + error.getMessage());
    } catch (const std::exception& error) {
        log_error(error.what());
    }
    return 1;
}
