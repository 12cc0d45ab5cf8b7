#include "bus-event-source.hpp"

#include "log.hpp"
#include "sdbus-compat.hpp"

#include <sdbus-c++/Error.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace wcbroker {

BusEventSource::BusEventSource(sd_event* event, sdbus::IConnection& connection)
    : connection_(connection)
{
    const sdbus::IConnection::PollData poll = connection_.getEventLoopPollData();
    sd_event_source* io = nullptr;
    int r = sd_event_add_io(event, &io, poll.fd, static_cast<std::uint32_t>(poll.events), on_io, this);
    io_ = EventSource(io);
    if (r >= 0)
        r = sd_event_source_set_prepare(io_.get(), on_prepare);
    sd_event_source* timer = nullptr;
    if (r >= 0) {
        r = sd_event_add_time(event, &timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timer, this);
        timer_ = EventSource(timer);
    }
    if (r >= 0)
        r = sd_event_source_set_enabled(timer_.get(), SD_EVENT_OFF);
    if (r < 0)
        throw std::runtime_error(std::string("cannot attach the bus to the event loop: ") + std::strerror(-r));
}

void BusEventSource::dispatch()
{
    try {
        while (sdbus_compat::process_pending(connection_)) {
        }
    } catch (const sdbus::Error& error) {
        // The connection is gone (bus daemon restarted or died). Exiting lets
        // the service manager restart us against the new bus; staying would
        // serve nobody.
        log_error("lost the bus connection: " + error.getMessage() + "; exiting");
        sd_event_exit(sd_event_source_get_event(io_.get()), 1);
    }
}

int BusEventSource::on_io(sd_event_source*, int, std::uint32_t, void* userdata)
{
    static_cast<BusEventSource*>(userdata)->dispatch();
    return 0;
}

int BusEventSource::on_timer(sd_event_source*, std::uint64_t, void* userdata)
{
    static_cast<BusEventSource*>(userdata)->dispatch();
    return 0;
}

int BusEventSource::on_prepare(sd_event_source*, void* userdata)
{
    auto* self = static_cast<BusEventSource*>(userdata);
    const sdbus::IConnection::PollData poll = self->connection_.getEventLoopPollData();
    sd_event_source_set_io_events(self->io_.get(), static_cast<std::uint32_t>(poll.events));
    const std::uint64_t deadline = sdbus_compat::poll_deadline_usec(poll);
    if (deadline == UINT64_MAX || deadline == 0) {
        // 0 means "now": processing is pending, so run straight away.
        if (deadline == 0) {
            sd_event_source_set_time(self->timer_.get(), 0);
            sd_event_source_set_enabled(self->timer_.get(), SD_EVENT_ONESHOT);
        } else {
            sd_event_source_set_enabled(self->timer_.get(), SD_EVENT_OFF);
        }
        return 0;
    }
    sd_event_source_set_time(self->timer_.get(), deadline);
    sd_event_source_set_enabled(self->timer_.get(), SD_EVENT_ONESHOT);
    return 0;
}

} // namespace wcbroker
