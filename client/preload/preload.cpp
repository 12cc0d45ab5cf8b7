// The interposed entry points: mmap, mmap64, munmap, ioctl, close. Each
// lets unrelated calls through after a couple of loads (an anonymous mmap,
// an fd that is no VFIO device, a range no lease touches), and takes the
// one mutex only for VFIO device fds and lease ranges.
//
// The C library's headers would rename mmap to mmap64 under
// _FILE_OFFSET_BITS=64 (meson's default): both are defined here, each
// with its own off_t, so the switch must be off in this file.
#undef _FILE_OFFSET_BITS

#include "bar-mapper.hpp"
#include "real-calls.hpp"

#include <cerrno>
#include <cstdarg>
#include <linux/vfio.h>
#include <mutex>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace wcbroker::preload {
namespace {

// Never destroyed: the program's other threads and other libraries'
// destructors may still map and close after this library's destructor.
struct State {
    std::mutex mutex;
    VfioDeviceTable devices;
    LeaseRanges leases;
    BarMapper mapper{devices, leases};
};
union StateStorage {
    StateStorage() : state() {}
    ~StateStorage() {}
    State state;
};
StateStorage storage;
State& state = storage.state;

class SavedErrno {
public:
    SavedErrno() : value_(errno) {}
    ~SavedErrno() { errno = value_; }
    SavedErrno(const SavedErrno&) = delete;
    SavedErrno& operator=(const SavedErrno&) = delete;

private:
    int value_;
};

template <typename MapFunction, typename Offset>
void* interposed_mmap(MapFunction map, void* address, std::size_t length, int prot, int flags, int fd, Offset offset)
{
    if (InsideShim::active())
        return map(address, length, prot, flags, fd, offset);
    if ((flags & MAP_ANONYMOUS) == 0 && state.devices.tracked(fd) && offset >= 0) {
        std::lock_guard lock(state.mutex);
        InsideShim inside;
        auto through_vfio = [&](void* at, int extra_flags) {
            return map(at, length, prot, flags | extra_flags, fd, offset);
        };
        return state.mapper.map(address, length, prot, flags, fd, static_cast<std::uint64_t>(offset), through_vfio);
    }
    if ((flags & MAP_FIXED) != 0 && state.leases.may_overlap(address, length)) {
        std::lock_guard lock(state.mutex);
        InsideShim inside;
        void* mapped = map(address, length, prot, flags, fd, offset);
        if (mapped != MAP_FAILED) {
            SavedErrno keep;
            state.mapper.released_range(address, length);
        }
        return mapped;
    }
    return map(address, length, prot, flags, fd, offset);
}

void before_fork()
{
    state.mutex.lock();
}

void after_fork_in_parent()
{
    state.mutex.unlock();
}

void after_fork_in_child()
{
    state.mapper.forget_parents_state();
    state.mutex.unlock();
}

__attribute__((constructor)) void start()
{
    state.mapper.set_options(options_from_environment());
    ::pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

__attribute__((destructor)) void finish()
{
    // A thread stuck in the slow path must not hold up exit; wcbrokerd
    // ends the leases of a client that leaves the bus anyway.
    std::unique_lock lock(state.mutex, std::try_to_lock);
    if (!lock.owns_lock())
        return;
    InsideShim inside;
    SavedErrno keep;
    state.mapper.release_all();
}

} // namespace
} // namespace wcbroker::preload

using namespace wcbroker::preload;

extern "C" {

__attribute__((visibility("default"))) void* mmap(void* address, size_t length, int prot, int flags, int fd,
    off_t offset) noexcept
{
    return interposed_mmap(real::mmap, address, length, prot, flags, fd, offset);
}

__attribute__((visibility("default"))) void* mmap64(void* address, size_t length, int prot, int flags, int fd,
    off64_t offset) noexcept
{
    return interposed_mmap(real::mmap64, address, length, prot, flags, fd, offset);
}

__attribute__((visibility("default"))) int munmap(void* address, size_t length) noexcept
{
    if (InsideShim::active()) {
        if (KeepPages::covers(address, length))
            return 0;
        return real::munmap(address, length);
    }
    if (!state.leases.may_overlap(address, length))
        return real::munmap(address, length);
    std::lock_guard lock(state.mutex);
    InsideShim inside;
    const int result = real::munmap(address, length);
    if (result == 0) {
        SavedErrno keep;
        state.mapper.released_range(address, length);
    }
    return result;
}

__attribute__((visibility("default"))) int ioctl(int fd, unsigned long request, ...) noexcept
{
    va_list arguments;
    va_start(arguments, request);
    void* argument = va_arg(arguments, void*);
    va_end(arguments);
    const int result = real::ioctl(fd, request, argument);
    if (InsideShim::active() || result < 0)
        return result;
    if (request == VFIO_GROUP_GET_DEVICE_FD) {
        SavedErrno keep;
        std::lock_guard lock(state.mutex);
        InsideShim inside;
        state.mapper.device_fd_opened(result, static_cast<const char*>(argument));
    } else if (request == VFIO_DEVICE_GET_REGION_INFO && state.devices.tracked(fd)) {
        SavedErrno keep;
        std::lock_guard lock(state.mutex);
        InsideShim inside;
        state.mapper.region_info(fd, argument);
    }
    return result;
}

__attribute__((visibility("default"))) int close(int fd)
{
    if (!InsideShim::active() && state.devices.tracked(fd)) {
        std::lock_guard lock(state.mutex);
        InsideShim inside;
        state.mapper.device_fd_closing(fd);
    }
    return real::close(fd);
}

} // extern "C"
