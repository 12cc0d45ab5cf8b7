// A fake PCI bus for tests that run under umockdev-wrapper: devices with
// the sysfs files wcbrokerd reads (ids, class, resource, resourceN,
// resourceN_wc, driver and iommu_group links), uevents that libudev
// monitors in this process receive, and the procfs/debugfs files the
// daemon reads under the same root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

typedef struct _UMockdevTestbed UMockdevTestbed;

namespace wcbroker::test {

struct FakeBar {
    std::uint32_t index = 0;
    std::uint64_t size = 0;
    bool prefetchable = false;
    bool is_64bit = false;
    bool io = false;
    bool wc_file = true; // resourceN_wc, created for prefetchable memory BARs when true
};

struct FakeDevice {
    std::string address;
    std::uint16_t vendor = 0x1af4;
    std::uint16_t device = 0x1110;
    std::uint32_t class_code = 0x050000;
    std::vector<FakeBar> bars;
    std::optional<std::uint32_t> iommu_group;
    std::string driver = "vfio-pci"; // empty: unbound
    bool resource_file = true;       // false: sysfs not fully populated yet
};

// An ivshmem-like device: BAR0 4 KiB registers, BAR2 1 MiB prefetchable 64-bit.
FakeDevice ivshmem(const std::string& address, std::uint32_t iommu_group);
// A device without prefetchable BARs: BAR0 1 MiB 32-bit memory, BAR1 I/O.
FakeDevice edu(const std::string& address, std::uint32_t iommu_group);

class FakePci {
public:
    FakePci();
    ~FakePci();
    FakePci(const FakePci&) = delete;
    FakePci& operator=(const FakePci&) = delete;

    // The directory standing in for "/", for KernelPaths.
    const std::string& root() const { return root_; }

    // Creates the device's sysfs directory; sends no uevent.
    void add(const FakeDevice& device);
    // Points the driver link at `driver` (empty: unlinks it), then sends the
    // uevents the kernel would: unbind for the old driver, bind for the new.
    void rebind(const std::string& address, const std::string& driver, bool send_events = true);
    // Sends "remove", then deletes the device directory.
    void remove(const std::string& address);
    void uevent(const std::string& address, const std::string& action);
    void vfio_group_uevent(std::uint32_t group, const std::string& action);
    void write_resource_file(const std::string& address, const FakeDevice& device);
    void delete_attribute(const std::string& address, const std::string& name);

    // Bytes of a BAR as a client sees them through resourceN[_wc].
    void fill_bar(const std::string& address, std::uint32_t bar, const std::string& bytes);

    void set_pat_memtype_list(const std::string& text);
    void set_iomem(const std::string& text);
    // /proc/iomem showing vfio-pci holding [start, +LENGTH) of the BAR, as
    // after a VFIO user mapped it.
    void claim_bar_for_vfio(const std::string& address, std::uint32_t bar, std::uint64_t length);

    // Physical address the fake assigned to a BAR.
    std::uint64_t bar_start(const std::string& address, std::uint32_t bar) const;
    // A pat_memtype_list line giving [OFFSET, +LENGTH) of the BAR memory type TYPE.
    std::string pat_line(const std::string& address, std::uint32_t bar, std::uint64_t offset, std::uint64_t length,
        const char* type) const;

    std::string device_dir(const std::string& address) const;

private:
    std::string syspath(const std::string& address) const { return "/sys/devices/" + address; }
    void write_file(const std::string& path, const std::string& text);

    UMockdevTestbed* testbed_ = nullptr;
    std::string root_;
    struct Placed {
        std::string address;
        std::uint32_t bar;
        std::uint64_t start;
    };
    std::vector<Placed> placed_;
    std::uint64_t next_bar_start_ = 0xe0000000;
};

} // namespace wcbroker::test
