// A fake sysfs under a scratch directory, laid out as the kernel lays it
// out: each PCI function in sys/devices/<bridges>/<address> with its
// attribute files, linked from sys/bus/pci/devices, bound through a driver
// link and placed in an IOMMU group. For tests and fuzzers that read
// devices through KernelPaths (or wcbrokerctl --sysfs-root); free of gtest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace wcbroker::test {

// One PCI function as sysfs shows it. The defaults are QEMU's ivshmem.
struct FakePciFunction {
    std::string address{};               // "0000:00:03.0"
    std::string parent = "pci0000:00"; // its bridges below sys/devices
    std::uint16_t vendor = 0x1af4;
    std::uint16_t device = 0x1110;
    std::uint16_t subsystem_vendor = 0x1af4;
    std::uint16_t subsystem_device = 0x1100;
    std::uint32_t class_code = 0x050000;
    std::optional<int> numa_node{};        // no numa_node file when empty
    std::optional<std::string> resource{}; // the "resource" file's text; no file when empty
    std::vector<std::string> resource_files{}; // "resource0", "resource2_wc", ...: empty files
    std::uintmax_t resource_file_size = 0;   // or of this size, for a test that maps them
    std::string driver{};                    // "" when unbound
    std::optional<unsigned> iommu_group{};
};

// ivshmem's "resource" file: BAR0 4 KiB of registers, BAR2 1 MiB 64-bit
// prefetchable (the first three of its lines).
extern const char* const ivshmem_resource;

class FakeSysfs {
public:
    // ROOT must exist; the tree is made below it, and left for the caller to remove.
    explicit FakeSysfs(std::filesystem::path root);

    const std::filesystem::path& root() const { return root_; }

    // The function's directory (returned), its link in sys/bus/pci/devices,
    // its driver's directory and link, its IOMMU group's directory, link and
    // membership.
    std::filesystem::path add(const FakePciFunction& function) const;
    // Only the attribute files and the driver link, in DIR: for a device
    // where sysfs would never put one.
    void write_function(const std::filesystem::path& dir, const FakePciFunction& function) const;
    // ROOT/RELATIVE holding TEXT, its directories made as needed.
    void write(const std::filesystem::path& relative, const std::string& text) const;

private:
    std::filesystem::path root_;
};

} // namespace wcbroker::test
