// The C library's own mmap, munmap, ioctl and close, behind the shim's
// definitions of them (dlsym(RTLD_NEXT)), and the per-thread state that
// lets the shim's own calls, and libwcbroker's, pass straight through.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace wcbroker::preload::real {

using mmap_fn = void* (*)(void*, std::size_t, int, int, int, off_t);
using mmap64_fn = void* (*)(void*, std::size_t, int, int, int, off64_t);
using munmap_fn = int (*)(void*, std::size_t);
using ioctl_fn = int (*)(int, unsigned long, ...);
using close_fn = int (*)(int);

// Each call is one load and one indirect call once resolved; resolving
// (the first call of each) is out of line.
namespace detail {
extern std::atomic<mmap_fn> next_mmap;
extern std::atomic<mmap64_fn> next_mmap64;
extern std::atomic<munmap_fn> next_munmap;
extern std::atomic<ioctl_fn> next_ioctl;
extern std::atomic<close_fn> next_close;
mmap_fn resolve_mmap();
mmap64_fn resolve_mmap64();
munmap_fn resolve_munmap();
ioctl_fn resolve_ioctl();
close_fn resolve_close();
} // namespace detail

template <typename Function>
inline Function next_or(const std::atomic<Function>& slot, Function (*resolve)())
{
    Function function = slot.load(std::memory_order_acquire);
    return __builtin_expect(function != nullptr, 1) ? function : resolve();
}

inline void* mmap(void* address, std::size_t length, int prot, int flags, int fd, off_t offset)
{
    return next_or(detail::next_mmap, detail::resolve_mmap)(address, length, prot, flags, fd, offset);
}

inline void* mmap64(void* address, std::size_t length, int prot, int flags, int fd, off64_t offset)
{
    return next_or(detail::next_mmap64, detail::resolve_mmap64)(address, length, prot, flags, fd, offset);
}

inline int munmap(void* address, std::size_t length)
{
    return next_or(detail::next_munmap, detail::resolve_munmap)(address, length);
}

inline int ioctl(int fd, unsigned long request, void* argument)
{
    return next_or(detail::next_ioctl, detail::resolve_ioctl)(fd, request, argument);
}

inline int close(int fd)
{
    return next_or(detail::next_close, detail::resolve_close)(fd);
}

} // namespace wcbroker::preload::real

namespace wcbroker::preload {

// __thread, not thread_local: a plain int needs no TLS wrapper call, and
// initial-exec makes each test one load (the shim is loaded at start-up,
// so its TLS is in the static block).
extern __thread int inside_depth __attribute__((tls_model("initial-exec")));

// Set while the shim works on a call: what libwcbroker, sd-bus and the shim
// itself map and unmap meanwhile is theirs, not the program's.
class InsideShim {
public:
    InsideShim();
    ~InsideShim();
    InsideShim(const InsideShim&) = delete;
    InsideShim& operator=(const InsideShim&) = delete;
    static bool active() noexcept { return inside_depth != 0; }
};

// While it lives, libwcbroker's munmap of exactly this range is swallowed:
// the shim releases a lease whose pages are gone already (the program
// unmapped them; the range may belong to someone else by now), or that it
// is about to map over itself.
class KeepPages {
public:
    KeepPages(void* address, std::size_t length);
    ~KeepPages();
    KeepPages(const KeepPages&) = delete;
    KeepPages& operator=(const KeepPages&) = delete;
    static bool covers(const void* address, std::size_t length) noexcept;
};

} // namespace wcbroker::preload
