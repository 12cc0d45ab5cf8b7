// wcbrokerd: wires the pieces together and runs the event loop.

#include "broker-dbus.hpp"
#include "bus-event-source.hpp"
#include "daemon-options.hpp"

#include <csignal>
#include <ctime>
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

    EventLoop loop;
    // Sends WATCHDOG=1 when the service has WatchdogSec=; a wedged loop stops it.
    sd_event_set_watchdog(loop.get(), 1);

    const KernelPaths paths(options.sysfs_root);
    SystemAuditLog audit;
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

    DeviceTracker tracker(loop, paths, broker);
    broker.attach(tracker.registry());
    tracker.start(options.udev_source);

    std::unique_ptr<sdbus::IConnection> connection = connect_bus(options.bus);
    BusEventSource bus_source(loop.get(), *connection);
    BusCredentials credentials(*connection, paths, [&](const std::string& name) { broker.client_gone(name); });
    BrokerDbus dbus(*connection, loop, broker, credentials, tracker);
    broker.set_observer(&dbus);
    try {
        connection->requestName("org.wcbroker.Broker1");
    } catch (const sdbus::Error& error) {
        log_error("cannot own org.wcbroker.Broker1 on the " + options.bus + " bus (" + error.getMessage()
            + "): another wcbrokerd is running, or the bus policy does not allow this user to own it");
        broker.set_observer(nullptr);
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
    refresh = [&] {
        notify_status();
        status_timer = loop.add_timer(std::chrono::seconds(5), refresh);
    };

    log_info("ready on the " + options.bus + " bus as org.wcbroker.Broker1: " + broker.status());
    sd_notifyf(0, "READY=1\nSTATUS=%s", broker.status().c_str());
    refresh();

    const int status = loop.run();
    sd_notify(0, "STOPPING=1");
    log_info("stopping: " + broker.status());
    broker.set_observer(nullptr);
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
