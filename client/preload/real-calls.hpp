// The C library's own mmap, munmap, ioctl and close, behind the shim's
// definitions of them (dlsym(RTLD_NEXT)), and the per-thread state that
// lets the shim's own calls, and libwcbroker's, pass straight through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace wcbroker::preload::real {

void* mmap(void* address, std::size_t length, int prot, int flags, int fd, off_t offset);
void* mmap64(void* address, std::size_t length, int prot, int flags, int fd, off64_t offset);
int munmap(void* address, std::size_t length);
int ioctl(int fd, unsigned long request, void* argument);
int close(int fd);

} // namespace wcbroker::preload::real

namespace wcbroker::preload {

// Set while the shim works on a call: what libwcbroker, sd-bus and the shim
// itself map and unmap meanwhile is theirs, not the program's.
class InsideShim {
public:
    InsideShim();
    ~InsideShim();
    InsideShim(const InsideShim&) = delete;
    InsideShim& operator=(const InsideShim&) = delete;
    static bool active() noexcept;
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
