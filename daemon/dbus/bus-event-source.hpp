// Drives an sdbus-c++ connection from the daemon's sd-event loop (sdbus-c++
// 1.2 cannot attach to sd-event itself): an I/O source on the bus fd and a
// timer for the bus's own timeouts, both re-armed from the connection's poll
// data before every poll.
#pragma once

#include "event-loop.hpp"

#include <sdbus-c++/IConnection.h>
#include <systemd/sd-event.h>

namespace wcbroker {

class BusEventSource {
public:
    BusEventSource(sd_event* event, sdbus::IConnection& connection);
    BusEventSource(const BusEventSource&) = delete;
    BusEventSource& operator=(const BusEventSource&) = delete;

    // Processes everything already queued, for callers that just sent.
    void dispatch();

private:
    static int on_io(sd_event_source* source, int fd, std::uint32_t revents, void* userdata);
    static int on_timer(sd_event_source* source, std::uint64_t usec, void* userdata);
    static int on_prepare(sd_event_source* source, void* userdata);

    sdbus::IConnection& connection_;
    // Freed like every other source of the loop (event-loop.hpp); their
    // callbacks are the static members above, with `this` as userdata.
    EventSource io_;
    EventSource timer_;
};

} // namespace wcbroker
