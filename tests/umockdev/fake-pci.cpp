#include "fake-pci.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <umockdev.h>
#include <unistd.h>

namespace wcbroker::test {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t io_flag = 0x100;
constexpr std::uint64_t mem_flag = 0x200;
constexpr std::uint64_t prefetch_flag = 0x2000;
constexpr std::uint64_t mem64_flag = 0x100000;

} // namespace

FakeDevice ivshmem(const std::string& address, std::uint32_t iommu_group)
{
    FakeDevice device;
    device.address = address;
    device.iommu_group = iommu_group;
    device.bars = {{0, 4096, false, false, false, false}, {2, 1 << 20, true, true, false, true}};
    return device;
}

FakeDevice edu(const std::string& address, std::uint32_t iommu_group)
{
    FakeDevice device;
    device.address = address;
    device.vendor = 0x1234;
    device.device = 0x11e8;
    device.class_code = 0x00ff00;
    device.iommu_group = iommu_group;
    device.bars = {{0, 1 << 20, false, false, false, false}, {1, 64, false, false, true, false}};
    return device;
}

FakePci::FakePci()
{
    testbed_ = umockdev_testbed_new();
    if (!umockdev_in_mock_environment())
        throw std::runtime_error("not running under umockdev-wrapper (LD_PRELOAD=libumockdev-preload.so.0)");
    gchar* root = umockdev_testbed_get_root_dir(testbed_);
    root_ = root;
    g_free(root);
}

FakePci::~FakePci()
{
    g_object_unref(testbed_);
}

std::string FakePci::device_dir(const std::string& address) const
{
    return root_ + syspath(address);
}

void FakePci::write_file(const std::string& path, const std::string& text)
{
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

void FakePci::add(const FakeDevice& device)
{
    char vendor[8], device_id[8], class_code[12];
    std::snprintf(vendor, sizeof vendor, "0x%04x", device.vendor);
    std::snprintf(device_id, sizeof device_id, "0x%04x", device.device);
    std::snprintf(class_code, sizeof class_code, "0x%06x", device.class_code);
    gchar* path = umockdev_testbed_add_device(testbed_, "pci", device.address.c_str(), nullptr, "vendor", vendor,
        "device", device_id, "subsystem_vendor", vendor, "subsystem_device", "0x1100", "class", class_code,
        "numa_node", "-1", nullptr, "PCI_SLOT_NAME", device.address.c_str(), nullptr);
    g_free(path);
    for (const FakeBar& bar : device.bars) {
        placed_.push_back({device.address, bar.index, next_bar_start_});
        next_bar_start_ += std::max<std::uint64_t>(bar.size, 1 << 20);
    }
    if (device.resource_file)
        write_resource_file(device.address, device);
    const std::string dir = device_dir(device.address);
    for (const FakeBar& bar : device.bars) {
        const std::string file = dir + "/resource" + std::to_string(bar.index);
        write_file(file, "");
        // Sparse files: a BAR's worth of zeros without the disk space.
        if (!bar.io && ::truncate(file.c_str(), static_cast<off_t>(bar.size)) != 0)
            throw std::runtime_error("cannot size " + file);
        if (bar.prefetchable && !bar.io && bar.wc_file) {
            write_file(file + "_wc", "");
            if (::truncate((file + "_wc").c_str(), static_cast<off_t>(bar.size)) != 0)
                throw std::runtime_error("cannot size " + file + "_wc");
        }
    }
    if (device.iommu_group) {
        const std::string group = std::to_string(*device.iommu_group);
        fs::create_directories(root_ + "/sys/kernel/iommu_groups/" + group + "/devices");
        fs::create_symlink("../../kernel/iommu_groups/" + group, dir + "/iommu_group");
        fs::create_symlink("../../../../devices/" + device.address,
            root_ + "/sys/kernel/iommu_groups/" + group + "/devices/" + device.address);
    }
    if (!device.driver.empty())
        fs::create_symlink("../../bus/pci/drivers/" + device.driver, dir + "/driver");
}

void FakePci::write_resource_file(const std::string& address, const FakeDevice& device)
{
    std::string text;
    for (std::uint32_t index = 0; index < 7; ++index) {
        std::uint64_t start = 0, end = 0, flags = 0;
        for (const FakeBar& bar : device.bars) {
            if (bar.index != index)
                continue;
            start = bar_start(address, index);
            end = start + bar.size - 1;
            flags = bar.io ? io_flag : mem_flag;
            if (bar.prefetchable)
                flags |= prefetch_flag;
            if (bar.is_64bit)
                flags |= mem64_flag;
        }
        char line[80];
        std::snprintf(line, sizeof line, "0x%016llx 0x%016llx 0x%016llx\n", static_cast<unsigned long long>(start),
            static_cast<unsigned long long>(end), static_cast<unsigned long long>(flags));
        text += line;
    }
    write_file(device_dir(address) + "/resource", text);
}

void FakePci::delete_attribute(const std::string& address, const std::string& name)
{
    fs::remove(device_dir(address) + "/" + name);
}

std::uint64_t FakePci::bar_start(const std::string& address, std::uint32_t bar) const
{
    for (const Placed& placed : placed_) {
        if (placed.address == address && placed.bar == bar)
            return placed.start;
    }
    throw std::runtime_error("no BAR " + std::to_string(bar) + " placed for " + address);
}

std::string FakePci::pat_line(const std::string& address, std::uint32_t bar, std::uint64_t offset,
    std::uint64_t length, const char* type) const
{
    char line[128];
    const std::uint64_t start = bar_start(address, bar) + offset;
    std::snprintf(line, sizeof line, "PAT: [mem 0x%016llx-0x%016llx] %s\n", static_cast<unsigned long long>(start),
        static_cast<unsigned long long>(start + length), type);
    return line;
}

void FakePci::claim_bar_for_vfio(const std::string& address, std::uint32_t bar, std::uint64_t length)
{
    const auto start = static_cast<unsigned long long>(bar_start(address, bar));
    const auto end = start + static_cast<unsigned long long>(length) - 1;
    char iomem[256];
    std::snprintf(iomem, sizeof iomem, "%08llx-%08llx : %s\n  %08llx-%08llx : vfio-pci\n", start, end, address.c_str(),
        start, end);
    set_iomem(iomem);
}

void FakePci::rebind(const std::string& address, const std::string& driver, bool send_events)
{
    const std::string link = device_dir(address) + "/driver";
    const bool was_bound = fs::is_symlink(link);
    fs::remove(link);
    if (send_events && was_bound)
        uevent(address, "unbind");
    if (!driver.empty()) {
        fs::create_symlink("../../bus/pci/drivers/" + driver, link);
        if (send_events)
            uevent(address, "bind");
    }
}

void FakePci::remove(const std::string& address)
{
    uevent(address, "remove");
    umockdev_testbed_remove_device(testbed_, syspath(address).c_str());
}

void FakePci::uevent(const std::string& address, const std::string& action)
{
    umockdev_testbed_uevent(testbed_, syspath(address).c_str(), action.c_str());
}

void FakePci::vfio_group_uevent(std::uint32_t group, const std::string& action)
{
    const std::string name = "virtual/vfio/" + std::to_string(group);
    const std::string path = "/sys/devices/" + name;
    if (!fs::exists(root_ + path)) {
        const std::string devname = "vfio/" + std::to_string(group);
        gchar* added = umockdev_testbed_add_device(testbed_, "vfio", name.c_str(), nullptr, nullptr, "DEVNAME",
            devname.c_str(), nullptr);
        g_free(added);
    }
    umockdev_testbed_uevent(testbed_, path.c_str(), action.c_str());
}

void FakePci::fill_bar(const std::string& address, std::uint32_t bar, const std::string& bytes)
{
    for (const std::string suffix : {"", "_wc"}) {
        const std::string file = device_dir(address) + "/resource" + std::to_string(bar) + suffix;
        if (!fs::exists(file))
            continue;
        std::fstream out(file, std::ios::in | std::ios::out | std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
}

void FakePci::set_pat_memtype_list(const std::string& text)
{
    write_file(root_ + "/sys/kernel/debug/x86/pat_memtype_list", text);
}

void FakePci::set_iomem(const std::string& text)
{
    write_file(root_ + "/proc/iomem", text);
}

} // namespace wcbroker::test
