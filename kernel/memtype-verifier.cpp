#include "memtype-verifier.hpp"

#include "byte-size.hpp"
#include "pat-memtype-list.hpp"
#include "sysfs-files.hpp"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>

namespace wcbroker {
namespace {

constexpr bool has_pat_memtype_list =
#if defined(__x86_64__) || defined(__i386__)
    true;
#else
    false;
#endif

BrokerError mmap_error(int error, const DeviceFacts& device, const BarFacts& bar)
{
    const std::string which = "BAR " + std::to_string(bar.index) + " of " + device.address;
    switch (error) {
    case EPERM:
        return {ErrorKind::Unsupported,
            "the kernel refused to map " + which
                + " (EPERM): it is locked down (Secure Boot integrity mode), which forbids all sysfs resource "
                  "mappings"};
    case EINVAL:
        return {ErrorKind::Busy,
            "the kernel refused to map " + which
                + " (EINVAL): a driver claimed the BAR, most likely vfio-pci because a VFIO user mapped it through "
                  "the device fd; map it only through wcbroker, close the VFIO mapping, and retry"};
    case ENODEV:
    case ENXIO:
        return {ErrorKind::NoSuchDevice, device.address + " went away while being mapped"};
    default:
        return {ErrorKind::Failed, "cannot map " + which + ": " + std::strerror(error)};
    }
}

} // namespace

Expected<Verification> MemtypeVerifier::verify(int fd, const DeviceFacts& device, const BarFacts& bar,
    std::uint64_t mmap_offset, std::uint64_t length) const
{
    void* mapping = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(mmap_offset));
    if (mapping == MAP_FAILED)
        return mmap_error(errno, device, bar);

    Verification result;
    if (!has_pat_memtype_list) {
        result.detail = "this architecture has no PAT memtype list to read the effective type from";
    } else if (auto list = read_text_file(paths_.pat_memtype_list(), 64 << 20); !list) {
        result.detail = "cannot read " + paths_.pat_memtype_list() + " (" + std::strerror(errno)
            + "); is debugfs mounted?";
    } else {
        const std::uint64_t start = bar.start + mmap_offset;
        result.memtype = effective_memtype(parse_pat_memtype_list(*list), start, length);
        const std::string span = "[" + format_hex(start) + ", " + format_hex(start + length) + ")";
        result.detail = result.memtype == Memtype::Unverified
            ? "the PAT memtype list has no single type covering " + span
            : "the PAT memtype list shows " + std::string(memtype_name(result.memtype)) + " for " + span;
    }
    ::munmap(mapping, length);
    return result;
}

} // namespace wcbroker
