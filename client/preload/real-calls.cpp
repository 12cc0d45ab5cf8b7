// Built without _FILE_OFFSET_BITS, as preload.cpp: off_t here is the one
// mmap() takes, off64_t the one mmap64() takes.
#undef _FILE_OFFSET_BITS

// Lazily resolved: a library constructor that runs before the shim's may
// already map memory. While dlsym() itself runs (it may allocate, and
// malloc may mmap) the raw system calls stand in.
#include "real-calls.hpp"

#include <atomic>
#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace wcbroker::preload {
namespace {

using namespace real;

__attribute__((tls_model("initial-exec"))) thread_local bool resolving = false;
__attribute__((tls_model("initial-exec"))) thread_local std::uintptr_t keep_start = 0;
__attribute__((tls_model("initial-exec"))) thread_local std::size_t keep_length = 0;

void* raw_mmap(void* address, std::size_t length, int prot, int flags, int fd, off_t offset)
{
#ifdef SYS_mmap2
    return reinterpret_cast<void*>(::syscall(SYS_mmap2, address, length, prot, flags, fd, offset >> 12));
#else
    return reinterpret_cast<void*>(::syscall(SYS_mmap, address, length, prot, flags, fd, offset));
#endif
}

void* raw_mmap64(void* address, std::size_t length, int prot, int flags, int fd, off64_t offset)
{
#ifdef SYS_mmap2
    return reinterpret_cast<void*>(::syscall(SYS_mmap2, address, length, prot, flags, fd, offset >> 12));
#else
    return reinterpret_cast<void*>(::syscall(SYS_mmap, address, length, prot, flags, fd, offset));
#endif
}

int raw_munmap(void* address, std::size_t length)
{
    return static_cast<int>(::syscall(SYS_munmap, address, length));
}

int raw_ioctl(int fd, unsigned long request, ...)
{
    __builtin_va_list arguments;
    __builtin_va_start(arguments, request);
    void* argument = __builtin_va_arg(arguments, void*);
    __builtin_va_end(arguments);
    return static_cast<int>(::syscall(SYS_ioctl, fd, request, argument));
}

int raw_close(int fd)
{
    return static_cast<int>(::syscall(SYS_close, fd));
}

template <typename Function>
Function resolve(std::atomic<Function>& slot, const char* name, Function stand_in)
{
    if (resolving)
        return stand_in;
    resolving = true;
    auto function = reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
    resolving = false;
    if (function == nullptr)
        function = stand_in;
    slot.store(function, std::memory_order_release);
    return function;
}

} // namespace

__thread int inside_depth = 0;

namespace real::detail {

std::atomic<mmap_fn> next_mmap{nullptr};
std::atomic<mmap64_fn> next_mmap64{nullptr};
std::atomic<munmap_fn> next_munmap{nullptr};
std::atomic<ioctl_fn> next_ioctl{nullptr};
std::atomic<close_fn> next_close{nullptr};

mmap_fn resolve_mmap()
{
    return resolve(next_mmap, "mmap", &raw_mmap);
}

mmap64_fn resolve_mmap64()
{
    return resolve(next_mmap64, "mmap64", &raw_mmap64);
}

munmap_fn resolve_munmap()
{
    return resolve(next_munmap, "munmap", &raw_munmap);
}

ioctl_fn resolve_ioctl()
{
    return resolve(next_ioctl, "ioctl", &raw_ioctl);
}

close_fn resolve_close()
{
    return resolve(next_close, "close", &raw_close);
}

} // namespace real::detail

InsideShim::InsideShim()
{
    ++inside_depth;
}

InsideShim::~InsideShim()
{
    --inside_depth;
}

KeepPages::KeepPages(void* address, std::size_t length)
{
    keep_start = reinterpret_cast<std::uintptr_t>(address);
    keep_length = length;
}

KeepPages::~KeepPages()
{
    keep_start = 0;
    keep_length = 0;
}

bool KeepPages::covers(const void* address, std::size_t length) noexcept
{
    return keep_length != 0 && reinterpret_cast<std::uintptr_t>(address) == keep_start && length == keep_length;
}

} // namespace wcbroker::preload
