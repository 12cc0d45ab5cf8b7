#include "event-loop.hpp"

#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace wcbroker {
namespace {

void check(int r, const char* what)
{
    if (r < 0)
        throw std::runtime_error(std::string(what) + ": " + std::strerror(-r));
}

template <typename Function>
void attach_callback(sd_event_source* source, Function* callback)
{
    sd_event_source_set_userdata(source, callback);
    sd_event_source_set_destroy_callback(source, [](void* userdata) { delete static_cast<Function*>(userdata); });
}

} // namespace

EventSource::EventSource(EventSource&& other) noexcept
    : source_(std::exchange(other.source_, nullptr))
{
}

EventSource& EventSource::operator=(EventSource&& other) noexcept
{
    if (this != &other) {
        reset();
        source_ = std::exchange(other.source_, nullptr);
    }
    return *this;
}

EventSource::~EventSource()
{
    reset();
}

void EventSource::reset()
{
    // Disabling first means a source freed from inside another callback of
    // the same iteration never fires again.
    if (source_ != nullptr) {
        sd_event_source_set_enabled(source_, SD_EVENT_OFF);
        sd_event_source_unref(source_);
        source_ = nullptr;
    }
}

EventLoop::EventLoop()
{
    check(sd_event_new(&event_), "sd_event_new");
}

EventLoop::~EventLoop()
{
    sd_event_unref(event_);
}

EventSource EventLoop::add_io(int fd, std::uint32_t events, std::function<void(std::uint32_t)> callback)
{
    using Function = std::function<void(std::uint32_t)>;
    sd_event_source* source = nullptr;
    check(sd_event_add_io(event_, &source, fd, events,
              [](sd_event_source*, int, std::uint32_t revents, void* userdata) {
                  (*static_cast<Function*>(userdata))(revents);
                  return 0;
              },
              nullptr),
        "sd_event_add_io");
    attach_callback(source, new Function(std::move(callback)));
    return EventSource(source);
}

EventSource EventLoop::add_timer(std::chrono::microseconds delay, std::function<void()> callback)
{
    using Function = std::function<void()>;
    sd_event_source* source = nullptr;
    check(sd_event_add_time_relative(event_, &source, CLOCK_MONOTONIC, static_cast<std::uint64_t>(delay.count()), 0,
              [](sd_event_source*, std::uint64_t, void* userdata) {
                  (*static_cast<Function*>(userdata))();
                  return 0;
              },
              nullptr),
        "sd_event_add_time_relative");
    attach_callback(source, new Function(std::move(callback)));
    return EventSource(source);
}

EventSource EventLoop::add_signal(int signal, std::function<void()> callback)
{
    using Function = std::function<void()>;
    sd_event_source* source = nullptr;
    check(sd_event_add_signal(event_, &source, signal,
              [](sd_event_source*, const struct signalfd_siginfo*, void* userdata) {
                  (*static_cast<Function*>(userdata))();
                  return 0;
              },
              nullptr),
        "sd_event_add_signal");
    attach_callback(source, new Function(std::move(callback)));
    return EventSource(source);
}

void EventLoop::post(std::function<void()> callback)
{
    using Function = std::function<void()>;
    sd_event_source* source = nullptr;
    check(sd_event_add_defer(event_, &source,
              [](sd_event_source* self, void* userdata) {
                  (*static_cast<Function*>(userdata))();
                  // Handing the source back from the loop frees it, with its
                  // callback, once this dispatch returns.
                  sd_event_source_set_enabled(self, SD_EVENT_OFF);
                  sd_event_source_set_floating(self, 0);
                  return 0;
              },
              nullptr),
        "sd_event_add_defer");
    attach_callback(source, new Function(std::move(callback)));
    // Owned by the loop until it fires: a loop that ends first frees it
    // (and its callback) with itself, instead of leaking it.
    sd_event_source_set_floating(source, 1);
    sd_event_source_unref(source);
}

int EventLoop::run()
{
    return sd_event_loop(event_);
}

bool EventLoop::run_once(std::chrono::microseconds timeout)
{
    const int r = sd_event_run(event_, static_cast<std::uint64_t>(timeout.count()));
    check(r, "sd_event_run");
    return r > 0;
}

void EventLoop::exit(int code)
{
    sd_event_exit(event_, code);
}

} // namespace wcbroker
