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

void before_fork();
void after_fork_in_parent();
void after_fork_in_child();

// Never destroyed: the program's other threads and other libraries'
// destructors may still map and close while the process exits.
// Until its constructor runs (another library's constructor may map
// first) it is all zeros, which tracks no fd and overlaps no range.
struct State {
    State()
    {
        mapper.set_options(options_from_environment());
        ::pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
    }
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

// The slow paths, out of line so that the fast one stays a few
// instructions in the interposed function itself.
template <auto Map, typename Offset>
__attribute__((noinline)) void* map_device(void* address, std::size_t length, int prot, int flags, int fd, Offset offset)
{
    std::lock_guard lock(state.mutex);
    InsideShim inside;
    auto through_vfio = [&](void* at, int extra_flags) { return Map(at, length, prot, flags | extra_flags, fd, offset); };
    return state.mapper.map(address, length, prot, flags, fd, static_cast<std::uint64_t>(offset), through_vfio);
}

template <auto Map, typename Offset>
__attribute__((noinline)) void* map_over_leases(void* address, std::size_t length, int prot, int flags, int fd,
    Offset offset)
{
    std::lock_guard lock(state.mutex);
    InsideShim inside;
    void* mapped = Map(address, length, prot, flags, fd, offset);
    if (mapped != MAP_FAILED) {
        SavedErrno keep;
        state.mapper.released_range(address, length);
    }
    return mapped;
}

template <auto Map, typename Offset>
__attribute__((always_inline)) inline void* interposed_mmap(void* address, std::size_t length, int prot, int flags,
    int fd, Offset offset)
{
    if (__builtin_expect(InsideShim::active(), 0))
        return Map(address, length, prot, flags, fd, offset);
    if ((flags & MAP_ANONYMOUS) == 0 && state.devices.tracked(fd) && offset >= 0)
        return map_device<Map>(address, length, prot, flags, fd, offset);
    if ((flags & MAP_FIXED) != 0 && state.leases.may_overlap(address, length))
        return map_over_leases<Map>(address, length, prot, flags, fd, offset);
    return Map(address, length, prot, flags, fd, offset);
}

__attribute__((noinline)) int unmap_over_leases(void* address, std::size_t length)
{
    std::lock_guard lock(state.mutex);
    InsideShim inside;
    const int result = real::munmap(address, length);
    if (result == 0) {
        SavedErrno keep;
        state.mapper.released_range(address, length);
    }
    return result;
}

__attribute__((noinline)) void follow_ioctl(int fd, unsigned long request, void* argument, int result)
{
    SavedErrno keep;
    std::lock_guard lock(state.mutex);
    InsideShim inside;
    if (request == VFIO_GROUP_GET_DEVICE_FD)
        state.mapper.device_fd_opened(result, static_cast<const char*>(argument));
    else
        state.mapper.region_info(fd, argument);
}

__attribute__((noinline)) void forget_device_fd(int fd)
{
    std::lock_guard lock(state.mutex);
    InsideShim inside;
    state.mapper.device_fd_closing(fd);
}

// A fork inside the shim comes from its own bus connection (sd-bus forks
// for a unixexec: address, and execs): the forking thread holds the mutex
// already, and locking it again would hang the program for good. Such a
// child only execs, so it is left as it is.
void before_fork()
{
    if (!InsideShim::active())
        state.mutex.lock();
}

void after_fork_in_parent()
{
    if (!InsideShim::active())
        state.mutex.unlock();
}

void after_fork_in_child()
{
    if (InsideShim::active())
        return;
    state.mapper.forget_parents_state();
    state.mutex.unlock();
}

// No destructor releases the leases at exit: the process's bus connection
// closes with it, and wcbrokerd ends its leases then. Releasing them here
// would ask wcbrokerd once per lease (an exit that waits 25 s a call when
// wcbrokerd hangs), and would revoke the alias pages under threads still
// running, as DPDK's lcores are when one calls rte_exit(): SIGBUS instead
// of the program's exit status.

} // namespace
} // namespace wcbroker::preload

using namespace wcbroker::preload;

extern "C" {

__attribute__((visibility("default"))) void* mmap(void* address, size_t length, int prot, int flags, int fd,
    off_t offset) noexcept
{
    return interposed_mmap<real::mmap>(address, length, prot, flags, fd, offset);
}

__attribute__((visibility("default"))) void* mmap64(void* address, size_t length, int prot, int flags, int fd,
    off64_t offset) noexcept
{
    return interposed_mmap<real::mmap64>(address, length, prot, flags, fd, offset);
}

__attribute__((visibility("default"))) int munmap(void* address, size_t length) noexcept
{
    if (__builtin_expect(InsideShim::active(), 0))
        return real::munmap(address, length);
    if (state.leases.may_overlap(address, length))
        return unmap_over_leases(address, length);
    return real::munmap(address, length);
}

__attribute__((visibility("default"))) int ioctl(int fd, unsigned long request, ...) noexcept
{
    va_list arguments;
    va_start(arguments, request);
    void* argument = va_arg(arguments, void*);
    va_end(arguments);
    const int result = real::ioctl(fd, request, argument);
    if (__builtin_expect(request == VFIO_GROUP_GET_DEVICE_FD || request == VFIO_DEVICE_GET_REGION_INFO, 0)
        && result >= 0 && !InsideShim::active()
        && (request == VFIO_GROUP_GET_DEVICE_FD || state.devices.tracked(fd)))
        follow_ioctl(fd, request, argument, result);
    return result;
}

__attribute__((visibility("default"))) int close(int fd)
{
    if (state.devices.tracked(fd) && !InsideShim::active())
        forget_device_fd(fd);
    return real::close(fd);
}

} // extern "C"
