// The shim's slow path: a BAR mmap of a VFIO device fd becomes leases from
// wcbrokerd mapped at the same address, or stays VFIO's with one line on
// stderr. Everything here runs under the shim's mutex, inside InsideShim.
#pragma once

#include "lease-ranges.hpp"
#include "vfio-device-table.hpp"

#include <bitset>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>

struct wcbroker_session;

namespace wcbroker::preload {

struct PreloadOptions {
    bool debug = false;   // WCBROKER_PRELOAD_DEBUG=1: a line per decision
    bool require = false; // WCBROKER_PRELOAD_REQUIRE=1: EACCES instead of VFIO's mapping
};
PreloadOptions options_from_environment();

// How the program's own mmap is made: mmap or mmap64, as it called.
using MapThroughVfio = std::function<void*(void* address, int extra_flags)>;

class BarMapper {
public:
    BarMapper(VfioDeviceTable& devices, LeaseRanges& leases);

    void set_options(const PreloadOptions& options) { options_ = options; }
    const PreloadOptions& options() const { return options_; }

    // An mmap of a tracked VFIO device fd. `through_vfio` makes the mapping
    // the program asked for (at `address`, with extra flags OR'ed in).
    void* map(void* address, std::size_t length, int prot, int flags, int fd, std::uint64_t offset,
        const MapThroughVfio& through_vfio);
    // [address, address+length) is no longer what the shim mapped there (a
    // munmap succeeded, or a MAP_FIXED mmap replaced it): release every
    // lease none of whose pages is left.
    void released_range(const void* address, std::size_t length);
    // VFIO_GROUP_GET_DEVICE_FD and VFIO_DEVICE_GET_REGION_INFO results.
    void device_fd_opened(int fd, const char* name);
    void region_info(int fd, const void* info);
    void device_fd_closing(int fd);

    // In a fork child: the parent's session and leases are the parent's.
    // Forgotten (leaked), never used or released from here.
    void forget_parents_state();

private:
    enum class Fallback {
        Unreachable,   // no bus or no wcbrokerd
        Refused,       // ListGrants failed
        NotGranted,    // no grant on this BAR
        PartlyGranted, // some page of the mapping not granted
        MapFailed,     // an Acquire or mmap of a lease failed
        Reserve,       // no address space for the mapping
        count
    };
    void* fall_back(Fallback reason, const BarSlice& slice, const std::string& why, void* base, bool reserved_here,
        void* address, std::size_t length, const MapThroughVfio& through_vfio);
    bool ensure_session(std::string& error);
    bool still_the_device(int fd);
    void learn_regions(int fd);
    void release_keeping_pages(void* mapping);
    void debug(const char* format, ...) __attribute__((format(printf, 2, 3)));

    VfioDeviceTable& devices_;
    LeaseRanges& leases_;
    PreloadOptions options_;
    wcbroker_session* session_ = nullptr;
    // A wcbrokerd that did not answer is not asked again for a while: a
    // hung one costs each attempt sd-bus's 25 s call timeout, under the
    // shim's mutex, and DPDK maps every BAR of every device in one probe.
    static constexpr std::chrono::seconds ask_unreachable_again_after{30};
    std::optional<std::chrono::steady_clock::time_point> unreachable_at_;
    std::string unreachable_why_;
    std::string label_;
    std::bitset<static_cast<std::size_t>(Fallback::count)> told_;
};

} // namespace wcbroker::preload
