#include "bar-mapper.hpp"

#include "bar-composition.hpp"
#include "real-calls.hpp"
#include "wcbroker.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace wcbroker::preload {
namespace {

std::optional<FileIdentity> identity_of(int fd)
{
    struct stat status{};
    if (::fstat(fd, &status) != 0)
        return std::nullopt;
    return FileIdentity{static_cast<std::uint64_t>(status.st_dev), static_cast<std::uint64_t>(status.st_ino)};
}

bool enabled(const char* name)
{
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' && std::strcmp(value, "0") != 0;
}

// The C API's malloc'ed strings and arrays, freed on every path.
struct FreeDeleter {
    void operator()(void* pointer) const { std::free(pointer); }
};
using CString = std::unique_ptr<char, FreeDeleter>;

std::string take_error(char* error)
{
    CString owned(error);
    return owned ? std::string(owned.get()) : std::string("no reason given");
}

const char* access_name(Access access)
{
    return access == Access::WriteCombine ? "write-combine" : "uncached";
}

void print_revoked(wcbroker_mapping* mapping, const char* reason, void*)
{
    std::fprintf(stderr, "wcbroker-preload: lease %s revoked: %s\n", wcbroker_mapping_lease(mapping),
        reason != nullptr ? reason : "no reason given");
}

} // namespace

PreloadOptions options_from_environment()
{
    PreloadOptions options;
    options.debug = enabled("WCBROKER_PRELOAD_DEBUG");
    options.require = enabled("WCBROKER_PRELOAD_REQUIRE");
    return options;
}

BarMapper::BarMapper(VfioDeviceTable& devices, LeaseRanges& leases) : devices_(devices), leases_(leases)
{
}

void BarMapper::debug(const char* format, ...)
{
    if (!options_.debug)
        return;
    char line[512];
    va_list arguments;
    va_start(arguments, format);
    std::vsnprintf(line, sizeof(line), format, arguments);
    va_end(arguments);
    std::fprintf(stderr, "wcbroker-preload[%d]: %s\n", static_cast<int>(::getpid()), line);
}

bool BarMapper::ensure_session(std::string& error)
{
    if (session_ != nullptr)
        return true;
    const auto now = std::chrono::steady_clock::now();
    if (unreachable_at_ && now - *unreachable_at_ < ask_unreachable_again_after) {
        error = unreachable_why_ + " (not asked again for "
            + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(ask_unreachable_again_after).count())
            + " s)";
        return false;
    }
    char* message = nullptr;
    if (wcbroker_session_open(&session_, &message) < 0) {
        session_ = nullptr;
        error = take_error(message);
        unreachable_at_ = std::chrono::steady_clock::now();
        unreachable_why_ = error;
        return false;
    }
    unreachable_at_.reset();
    wcbroker_session_on_revoked(session_, print_revoked, nullptr);
    label_ = "preload:" + std::string(program_invocation_short_name) + "[" + std::to_string(::getpid()) + "]";
    debug("session open, leases labelled %s", label_.c_str());
    return true;
}

void BarMapper::device_fd_opened(int fd, const char* name)
{
    if (name == nullptr)
        return;
    if (devices_.add_device(fd, name, identity_of(fd).value_or(FileIdentity{})))
        debug("fd %d is VFIO device %s", fd, name);
}

void BarMapper::region_info(int fd, const void* raw)
{
    const auto* info = static_cast<const vfio_region_info*>(raw);
    if (info == nullptr || info->argsz < sizeof(vfio_region_info))
        return;
    devices_.add_region(fd, *info);
}

// The fd number may have been closed without close() (dup2 over it,
// close_range, the C library's internal close) and given to another file:
// that file's mapping is the program's, never a BAR's leases.
bool BarMapper::still_the_device(int fd)
{
    const auto known = devices_.identity(fd);
    const auto now = identity_of(fd);
    if (known && now && *known == *now)
        return true;
    debug("fd %d is no longer the VFIO device it was: forgotten", fd);
    devices_.forget(fd);
    return false;
}

void BarMapper::device_fd_closing(int fd)
{
    devices_.forget(fd);
}

// A secondary process of DPDK 22.11 maps at offsets its primary learnt: it
// never asks for region info itself. The kernel is asked here instead.
void BarMapper::learn_regions(int fd)
{
    for (std::uint32_t index = VFIO_PCI_BAR0_REGION_INDEX; index <= VFIO_PCI_BAR5_REGION_INDEX; ++index) {
        vfio_region_info info{};
        info.argsz = sizeof(info);
        info.index = index;
        if (real::ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &info) == 0)
            devices_.add_region(fd, info);
    }
}

void BarMapper::release_keeping_pages(void* handle)
{
    auto* mapping = static_cast<wcbroker_mapping*>(handle);
    debug("releasing %s", wcbroker_mapping_lease(mapping));
    (void)wcbroker_release_keeping_pages(mapping);
}

void BarMapper::released_range(const void* address, std::size_t length)
{
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t rounded = (length + page - 1) / page * page; // as munmap rounds
    for (LeaseRanges::Handle handle : leases_.unmapped(address, rounded))
        release_keeping_pages(handle);
}

void* BarMapper::fall_back(Fallback reason, const BarSlice& slice, const std::string& why, void* base,
    bool reserved_here, void* address, std::size_t length, const MapThroughVfio& through_vfio)
{
    const auto index = static_cast<std::size_t>(reason);
    if (!told_[index] || options_.debug) {
        told_[index] = true;
        std::fprintf(stderr, "wcbroker-preload: %s BAR%u: %s: %s\n", slice.device.c_str(), slice.bar,
            options_.require ? "refusing the mapping (WCBROKER_PRELOAD_REQUIRE)"
                             : "falling back to the VFIO mapping (uncached)",
            why.c_str());
    }
    if (options_.require) {
        if (reserved_here)
            real::munmap(base, length);
        else if (base != nullptr) // leases mapped over the program's reservation: restore one
            real::mmap(base, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
        errno = EACCES;
        return MAP_FAILED;
    }
    if (base == nullptr)
        return through_vfio(address, 0);
    // Over the reservation or what was leased there: one atomic replacement.
    void* mapped = through_vfio(base, MAP_FIXED);
    if (mapped == MAP_FAILED && reserved_here) {
        const int saved = errno;
        real::munmap(base, length);
        errno = saved;
    }
    return mapped;
}

void* BarMapper::map(void* address, std::size_t length, int prot, int flags, int fd, std::uint64_t offset,
    const MapThroughVfio& through_vfio)
{
    const bool fixed = (flags & MAP_FIXED) != 0;
    if (fixed) // whatever the shim leased there is replaced, either way
        released_range(address, length);
    if (!still_the_device(fd))
        return through_vfio(address, 0);
    auto slice = devices_.find(fd, offset, length);
    if (!slice) {
        learn_regions(fd);
        slice = devices_.find(fd, offset, length);
    }
    if (!slice) {
        debug("fd %d offset 0x%llx: not a BAR, left to VFIO", fd, static_cast<unsigned long long>(offset));
        return through_vfio(address, 0);
    }
    const int type = flags & MAP_TYPE;
    if (prot != (PROT_READ | PROT_WRITE) || (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)) {
        debug("%s BAR%u: prot 0x%x flags 0x%x is not a shared read-write mapping, left to VFIO", slice->device.c_str(),
            slice->bar, prot, flags);
        return through_vfio(address, 0);
    }
    debug("%s BAR%u: mmap of 0x%zx bytes at BAR offset 0x%llx", slice->device.c_str(), slice->bar, length,
        static_cast<unsigned long long>(slice->bar_offset));

    std::string error;
    if (!ensure_session(error))
        return fall_back(Fallback::Unreachable, *slice, "wcbrokerd unreachable: " + error, nullptr, false, address,
            length, through_vfio);

    wcbroker_grant* raw_grants = nullptr;
    std::size_t count = 0;
    char* message = nullptr;
    if (wcbroker_list_grants(session_, slice->device.c_str(), slice->bar, &raw_grants, &count, &message) < 0)
        return fall_back(Fallback::Refused, *slice, "wcbrokerd: " + take_error(message), nullptr, false, address,
            length, through_vfio);
    std::unique_ptr<wcbroker_grant, FreeDeleter> owned_grants(raw_grants);
    if (count == 0)
        return fall_back(Fallback::NotGranted, *slice, "wcbrokerd: no rule grants this caller any range of it",
            nullptr, false, address, length, through_vfio);
    std::vector<BarSpan> grants;
    for (std::size_t i = 0; i < count; ++i) {
        grants.push_back({raw_grants[i].offset, raw_grants[i].length,
            raw_grants[i].access == WCBROKER_WRITE_COMBINE ? Access::WriteCombine : Access::Uncached});
        debug("  grant 0x%llx+0x%llx %s", static_cast<unsigned long long>(raw_grants[i].offset),
            static_cast<unsigned long long>(raw_grants[i].length), access_name(grants.back().access));
    }
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    auto pieces = compose_bar_map(slice->bar_offset, length, grants, page);
    if (!pieces) {
        char range[96];
        std::snprintf(range, sizeof(range), "0x%llx+0x%zx", static_cast<unsigned long long>(slice->bar_offset), length);
        return fall_back(Fallback::PartlyGranted, *slice,
            std::string("wcbrokerd grants this caller only part of ") + range, nullptr, false, address, length,
            through_vfio);
    }

    // Leases go where the program asked; without MAP_FIXED, somewhere the
    // kernel picks, held with an inaccessible mapping first. The program's
    // MAP_FIXED_NOREPLACE holds for the reservation too: exactly there, or
    // EEXIST as the kernel would answer, never leases somewhere else.
    void* base = address;
    bool reserved_here = false;
    if (!fixed) {
        const int noreplace = flags & MAP_FIXED_NOREPLACE;
        base = real::mmap(address, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | noreplace, -1, 0);
        if (base == MAP_FAILED && noreplace != 0 && errno == EEXIST)
            return MAP_FAILED;
        if (base == MAP_FAILED)
            return fall_back(Fallback::Reserve, *slice, std::string("no address space: ") + std::strerror(errno),
                nullptr, false, address, length, through_vfio);
        reserved_here = true;
    }
    std::vector<wcbroker_mapping*> mapped;
    for (const BarSpan& piece : *pieces) {
        wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
        request.device = slice->device.c_str();
        request.bar = slice->bar;
        request.offset = piece.offset;
        request.length = piece.length;
        request.access = piece.access == Access::WriteCombine ? WCBROKER_WRITE_COMBINE : WCBROKER_UNCACHED;
        request.label = label_.c_str();
        request.address = static_cast<char*>(base) + (piece.offset - slice->bar_offset);
        wcbroker_mapping* mapping = nullptr;
        message = nullptr;
        if (wcbroker_map(session_, &request, &mapping, &message) < 0) {
            const std::string why = "wcbrokerd: " + take_error(message);
            // Released, pages kept: the VFIO mapping replaces them at once.
            for (wcbroker_mapping* done : mapped)
                release_keeping_pages(done);
            return fall_back(Fallback::MapFailed, *slice, why, base, reserved_here, address, length, through_vfio);
        }
        debug("  0x%llx+0x%llx %s at %p: %s, %s (%s)", static_cast<unsigned long long>(piece.offset),
            static_cast<unsigned long long>(piece.length), access_name(piece.access), request.address,
            wcbroker_mapping_lease(mapping), wcbroker_mapping_memtype(mapping), wcbroker_mapping_mechanism(mapping));
        mapped.push_back(mapping);
    }
    for (wcbroker_mapping* mapping : mapped)
        leases_.add(wcbroker_mapping_address(mapping), wcbroker_mapping_length(mapping), mapping);
    return base;
}

void BarMapper::forget_parents_state()
{
    (void)leases_.take_all(); // the parent's to release
    session_ = nullptr;       // the parent's connection: leaked, never touched
    told_.reset();            // a new process tells its own story
    unreachable_at_.reset();  // and asks for itself
}

} // namespace wcbroker::preload
