// The VFIO device fds a program holds and where their BARs lie in them,
// learnt from the program's own ioctls: VFIO_GROUP_GET_DEVICE_FD names the
// device, VFIO_DEVICE_GET_REGION_INFO says where each region sits in the
// fd. vfio-pci's region offsets are not ABI (kernel-facts §1), so they are
// only ever read from the kernel, never computed.
#pragma once

#include <array>
#include <cstdint>
#include <linux/vfio.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wcbroker::preload {

struct Region {
    std::uint64_t offset = 0; // in the device fd
    std::uint64_t size = 0;
    std::uint32_t flags = 0;  // VFIO_REGION_INFO_FLAG_*
};

// What an mmap of a device fd at some offset maps.
struct BarSlice {
    std::string device;           // "0000:00:05.0"
    unsigned bar = 0;             // 0 to 5
    std::uint64_t bar_offset = 0; // where the mapping starts in the BAR
    Region region;
};

// Which open file an fd number named when the device was added (fstat's
// st_dev and st_ino): a number closed behind the shim's back (dup2 over
// it, close_range, the C library's own close) and reused names another.
struct FileIdentity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    bool operator==(const FileIdentity&) const = default;
};

// "0000:00:05.0 vf_token=..." (DPDK passes the token after a space) ->
// "0000:00:05.0"; nullopt for an empty name.
std::optional<std::string> device_name_of(std::string_view get_device_fd_argument);

class VfioDeviceTable {
public:
    // Fds at or above this are not followed: their mappings stay VFIO's.
    static constexpr int max_fd = 1 << 16;

    VfioDeviceTable() = default;
    ~VfioDeviceTable();
    VfioDeviceTable(const VfioDeviceTable&) = delete;
    VfioDeviceTable& operator=(const VfioDeviceTable&) = delete;

    // Lock-free and safe from any thread: the fast path of every mmap.
    bool tracked(int fd) const noexcept
    {
        return fd >= 0 && fd < max_fd && __atomic_load_n(&devices_[fd], __ATOMIC_ACQUIRE) != nullptr;
    }

    // The rest is for one thread at a time (the shim's mutex).
    // Returns false when the name is empty or the fd out of range.
    bool add_device(int fd, std::string_view get_device_fd_argument, FileIdentity identity = {});
    // What add_device() was told; nullopt for an fd not tracked.
    std::optional<FileIdentity> identity(int fd) const;
    // Ignores regions other than BAR0..BAR5 and fds not tracked.
    void add_region(int fd, const vfio_region_info& info);
    bool knows_regions(int fd) const;
    // The BAR an mmap of `length` bytes at `offset` of `fd` falls in, when
    // the whole mapping lies inside one BAR region.
    std::optional<BarSlice> find(int fd, std::uint64_t offset, std::uint64_t length) const;
    void forget(int fd);

private:
    struct Device {
        std::string name;
        FileIdentity identity;
        std::array<std::optional<Region>, VFIO_PCI_BAR5_REGION_INDEX + 1> bars;
    };
    Device* device(int fd) const;

    // Plain pointers under atomic builtins, not std::atomic: with no
    // initializer of its own the array stays in zeroed static storage (a
    // preloaded library's half megabyte is not written, so not resident,
    // until fds are followed). Value-initialize a table made elsewhere.
    Device* devices_[max_fd];
};

} // namespace wcbroker::preload
