#include "fake-sysfs.hpp"

#include <cstdio>
#include <fstream>

namespace wcbroker::test {

namespace fs = std::filesystem;

const char* const ivshmem_resource = "0x00000000febd1000 0x00000000febd1fff 0x0000000000040200\n"
                                     "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                                     "0x00000000fea00000 0x00000000feafffff 0x000000000014220c\n";

namespace {

void write_file(const fs::path& path, const std::string& text)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// sysfs prints ids as 0x-prefixed hex of a fixed width, one per file.
std::string hex(unsigned value, int width)
{
    char text[16];
    std::snprintf(text, sizeof text, "0x%0*x\n", width, value);
    return text;
}

// Links are relative, as sysfs makes them, so the tree can be read from
// wherever it sits.
void link_directory(const fs::path& target, const fs::path& link)
{
    fs::create_directories(link.parent_path());
    fs::create_directory_symlink(fs::relative(target, link.parent_path()), link);
}

} // namespace

FakeSysfs::FakeSysfs(fs::path root)
    : root_(std::move(root))
{
    fs::create_directories(root_ / "sys/bus/pci/devices");
}

fs::path FakeSysfs::add(const FakePciFunction& function) const
{
    const fs::path dir = root_ / "sys/devices" / function.parent / function.address;
    write_function(dir, function);
    link_directory(dir, root_ / "sys/bus/pci/devices" / function.address);
    if (function.iommu_group) {
        const fs::path group = root_ / "sys/kernel/iommu_groups" / std::to_string(*function.iommu_group);
        fs::create_directories(group / "devices");
        link_directory(group, dir / "iommu_group");
        link_directory(dir, group / "devices" / function.address);
    }
    return dir;
}

void FakeSysfs::write_function(const fs::path& dir, const FakePciFunction& function) const
{
    write_file(dir / "vendor", hex(function.vendor, 4));
    write_file(dir / "device", hex(function.device, 4));
    write_file(dir / "subsystem_vendor", hex(function.subsystem_vendor, 4));
    write_file(dir / "subsystem_device", hex(function.subsystem_device, 4));
    write_file(dir / "class", hex(function.class_code, 6));
    if (function.numa_node)
        write_file(dir / "numa_node", std::to_string(*function.numa_node) + "\n");
    if (function.resource)
        write_file(dir / "resource", *function.resource);
    for (const std::string& name : function.resource_files) {
        write_file(dir / name, "");
        if (function.resource_file_size != 0)
            fs::resize_file(dir / name, function.resource_file_size);
    }
    if (!function.driver.empty()) {
        const fs::path driver = root_ / "sys/bus/pci/drivers" / function.driver;
        fs::create_directories(driver);
        link_directory(driver, dir / "driver");
    }
}

void FakeSysfs::write(const fs::path& relative, const std::string& text) const
{
    write_file(root_ / relative, text);
}

} // namespace wcbroker::test
