// A thin owner of an sd-event loop: sources are RAII handles whose
// callbacks are std::functions, so daemon objects can register member
// lambdas and forget about sd_event_source lifetimes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <systemd/sd-event.h>

namespace wcbroker {

class EventSource {
public:
    EventSource() = default;
    explicit EventSource(sd_event_source* source)
        : source_(source)
    {
    }
    EventSource(EventSource&& other) noexcept;
    EventSource& operator=(EventSource&& other) noexcept;
    EventSource(const EventSource&) = delete;
    EventSource& operator=(const EventSource&) = delete;
    ~EventSource();

    sd_event_source* get() const { return source_; }
    explicit operator bool() const { return source_ != nullptr; }
    void reset();

private:
    sd_event_source* source_ = nullptr;
};

class EventLoop {
public:
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    sd_event* get() const { return event_; }

    EventSource add_io(int fd, std::uint32_t events, std::function<void(std::uint32_t revents)> callback);
    // One-shot, relative to now on CLOCK_MONOTONIC.
    EventSource add_timer(std::chrono::microseconds delay, std::function<void()> callback);
    // The signal must be blocked in every thread (sd_event_add_signal's rule).
    EventSource add_signal(int signal, std::function<void()> callback);
    // Runs `callback` once, on the next iteration, after whatever is being
    // dispatched now has returned.
    void post(std::function<void()> callback);
    int run();
    // One iteration, waiting at most `timeout`; false when nothing happened.
    bool run_once(std::chrono::microseconds timeout);
    void exit(int code);

private:
    sd_event* event_ = nullptr;
};

} // namespace wcbroker
