// libFuzzer target: hostile uevents through what wcbrokerd does with them.
//
// The input is a sequence of uevents in the kernel's wire form: KEY=VALUE
// properties separated by NUL bytes, an empty property ending an event.
// ACTION, SUBSYSTEM and DEVPATH become the UdevEvent libudev would hand the
// daemon (the sysname is DEVPATH's last component with '!' turned into '/',
// as libudev does); other keys are ignored, missing ones are empty. Each
// event goes through for_each_device_to_refresh() (DeviceTracker::handle's
// decision) and every address it yields through read_pci_device() and a
// DeviceRegistry, as DeviceTracker::refresh() does, on a small fake sysfs
// tree in a temporary directory: two devices bound to vfio-pci (one a NIC
// with 64-bit prefetchable BARs and an I/O BAR), one unbound, one bound to
// another driver, one with its resource file missing, their IOMMU groups,
// and a sentinel device bound to vfio-pci that only a path with ".." in it
// reaches.
//
// Beyond "no crash":
// - every file the event logic opens, stats, lists or reads a link of lies
//   under the fake root, by a path without "." or ".." components or empty
//   ones (calls into sysfs-files.cpp are wrapped at link time, -Wl,--wrap);
// - an event for another subsystem, a pci sysname that is not a canonical
//   address, or a vfio sysname that is not a group number touches nothing;
// - only canonical addresses are re-read: the pci event's own, or for a vfio
//   event members of that group (listed in sysfs or known to the registry);
// - the registry only ever holds the devices of the tree bound to vfio-pci,
//   never the sentinel, each under its own address and with the facts a
//   fresh read gives.

#include "device-registry.hpp"
#include "device-tracker.hpp"
#include "fake-sysfs.hpp"
#include "fuzz-scratch.hpp"
#include "kernel-paths.hpp"
#include "pci-address.hpp"
#include "sysfs-pci-reader.hpp"

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Set while the code under test runs; the wrappers below record into it.
std::vector<std::string>* accessed = nullptr;

void note(const char* path)
{
    if (accessed != nullptr)
        accessed->emplace_back(path == nullptr ? "" : path);
}

} // namespace

// The file system calls sysfs-files.cpp makes (see tests/meson.build for the
// --wrap options; with _FILE_OFFSET_BITS=64 open and stat are the *64 ones).
extern "C" {
int __real_open64(const char* path, int flags, ...);
DIR* __real_opendir(const char* path);
ssize_t __real_readlink(const char* path, char* buffer, std::size_t size);
int __real_stat64(const char* path, struct stat64* buffer);
int __wrap_open64(const char* path, int flags, ...);
DIR* __wrap_opendir(const char* path);
ssize_t __wrap_readlink(const char* path, char* buffer, std::size_t size);
int __wrap_stat64(const char* path, struct stat64* buffer);

int __wrap_open64(const char* path, int flags, ...)
{
    note(path);
    mode_t mode = 0;
    if ((flags & (O_CREAT | O_TMPFILE)) != 0) {
        va_list args;
        va_start(args, flags);
        mode = va_arg(args, mode_t);
        va_end(args);
    }
    return __real_open64(path, flags, mode);
}

DIR* __wrap_opendir(const char* path)
{
    note(path);
    return __real_opendir(path);
}

ssize_t __wrap_readlink(const char* path, char* buffer, std::size_t size)
{
    note(path);
    return __real_readlink(path, buffer, size);
}

int __wrap_stat64(const char* path, struct stat64* buffer)
{
    note(path);
    return __real_stat64(path, buffer);
}
}

namespace {

constexpr std::uint16_t sentinel_vendor = 0x5e47;

struct Tree {
    std::string root;
    std::set<std::string> served;                         // bound to vfio-pci with readable facts
    std::map<std::string, std::set<std::string>> groups;  // IOMMU group -> members
};

Tree* tree = nullptr;

std::string zero_lines(int count)
{
    std::string text;
    for (int i = 0; i < count; ++i)
        text += "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
    return text;
}

// A NIC-like function with BARs 0 and 2 mappable (resourceN and resourceN_wc).
wcbroker::test::FakePciFunction function(const std::string& parent, const std::string& address, std::uint16_t vendor,
    const std::string& resource, const std::string& driver)
{
    return {.address = address,
        .parent = parent,
        .vendor = vendor,
        .device = 0x10fb,
        .subsystem_vendor = vendor,
        .subsystem_device = 0x000c,
        .class_code = 0x020000,
        .numa_node = 0,
        .resource = resource.empty() ? std::nullopt : std::optional(resource),
        .resource_files = {"resource0", "resource0_wc", "resource2", "resource2_wc"},
        .driver = driver};
}

void add_pci(const wcbroker::test::FakeSysfs& sysfs, const std::string& parent, const std::string& address,
    std::uint16_t vendor, const std::string& resource, const std::string& driver, unsigned group)
{
    wcbroker::test::FakePciFunction pci = function(parent, address, vendor, resource, driver);
    pci.iommu_group = group;
    sysfs.add(pci);
    tree->groups[std::to_string(group)].insert(address);
}

void remove_tree()
{
    if (tree != nullptr)
        fs::remove_all(tree->root);
}

void build_tree()
{
    tree = new Tree{wcbroker::fuzz::make_scratch_directory("uevent"), {}, {}};
    std::atexit(remove_tree);
    const fs::path root = tree->root;
    const wcbroker::test::FakeSysfs sysfs(root);

    // ivshmem: BAR0 4 KiB registers, BAR2 1 MiB 64-bit prefetchable.
    const std::string ivshmem = "0x00000000febd1000 0x00000000febd1fff 0x0000000000040200\n" + zero_lines(1)
        + "0x00000000fea00000 0x00000000feafffff 0x000000000014220c\n" + zero_lines(4);
    // An 82599-like NIC: BAR0 and BAR4 64-bit prefetchable, BAR2 I/O, the
    // ROM, the SR-IOV BARs.
    const std::string nic = "0x0000387fffe80000 0x0000387fffefffff 0x000000000014220c\n" + zero_lines(1)
        + "0x0000000000005020 0x000000000000503f 0x0000000000040101\n" + zero_lines(1)
        + "0x0000387ffff04000 0x0000387ffff07fff 0x000000000014220c\n" + zero_lines(1)
        + "0x00000000c7180000 0x00000000c71fffff 0x0000000000046200\n"
        + "0x0000387fffd00000 0x0000387fffdfffff 0x000000000014220c\n" + zero_lines(2)
        + "0x0000387fffc00000 0x0000387fffcfffff 0x000000000014220c\n" + zero_lines(2);
    add_pci(sysfs, "pci0000:00", "0000:00:03.0", 0x1af4, ivshmem, "vfio-pci", 3);
    add_pci(sysfs, "pci0000:00", "0000:00:03.1", 0x1af4, ivshmem, "", 3);
    add_pci(sysfs, "pci0000:00", "0000:00:04.0", 0x1af4, ivshmem, "virtio-pci", 4);
    add_pci(sysfs, "pci0000:00", "0000:00:05.0", 0x1af4, "", "vfio-pci", 5); // no resource file yet
    add_pci(sysfs, "pci0000:3a/0000:3a:00.0", "0000:3b:00.0", 0x8086, nic, "vfio-pci", 12);
    tree->served = {"0000:00:03.0", "0000:3b:00.0"};

    // Reachable only through "..": next to the devices directory, and a
    // group directory outside iommu_groups listing it.
    wcbroker::test::FakePciFunction sentinel = function("", "0000:00:1f.7", sentinel_vendor, ivshmem, "vfio-pci");
    sentinel.resource_files = {"resource2", "resource2_wc"};
    sysfs.write_function(root / "sys/bus/pci/0000:00:1f.7", sentinel);
    fs::create_directories(root / "sys/kernel/sentinel-group/devices");
    fs::create_directory_symlink("../../../bus/pci/0000:00:1f.7", root / "sys/kernel/sentinel-group/devices/0000:00:1f.7");
}

bool inside_the_tree(const std::string& path)
{
    const std::string prefix = tree->root + "/";
    if (!path.starts_with(prefix))
        return false;
    const std::string_view rest = std::string_view(path).substr(prefix.size());
    std::size_t begin = 0;
    for (;;) {
        const std::size_t slash = rest.find('/', begin);
        const std::string_view part = rest.substr(begin, slash == std::string_view::npos ? slash : slash - begin);
        if (part.empty() || part == "." || part == "..")
            return false;
        if (slash == std::string_view::npos)
            return true;
        begin = slash + 1;
    }
}

std::vector<wcbroker::UdevEvent> parse_events(std::string_view input)
{
    std::vector<wcbroker::UdevEvent> events;
    wcbroker::UdevEvent event;
    bool any = false;
    constexpr std::size_t max_events = 32;
    while (!input.empty() && events.size() < max_events) {
        const auto nul = input.find('\0');
        const std::string_view property = input.substr(0, nul);
        input.remove_prefix(nul == std::string_view::npos ? input.size() : nul + 1);
        if (property.empty()) {
            if (any)
                events.push_back(event);
            event = {};
            any = false;
            continue;
        }
        any = true;
        const auto equals = property.find('=');
        const std::string_view key = property.substr(0, equals);
        const std::string_view value = equals == std::string_view::npos ? "" : property.substr(equals + 1);
        if (key == "ACTION") {
            event.action = value;
        } else if (key == "SUBSYSTEM") {
            event.subsystem = value;
        } else if (key == "DEVPATH") {
            const auto slash = value.rfind('/');
            event.sysname = value.substr(slash == std::string_view::npos ? 0 : slash + 1);
            for (char& c : event.sysname) {
                if (c == '!')
                    c = '/';
            }
        }
    }
    if (any && events.size() < max_events)
        events.push_back(event);
    return events;
}

void check_registry(const wcbroker::DeviceRegistry& registry, const wcbroker::KernelPaths& paths)
{
    for (const wcbroker::DeviceRecord* record : registry.devices()) {
        const std::string& address = record->facts.address;
        if (tree->served.count(address) == 0 || record->facts.vendor_id == sentinel_vendor)
            std::abort();
        if (registry.find(address) != record)
            std::abort();
        const wcbroker::SysfsReadResult again = wcbroker::read_pci_device(paths, address);
        if (again.status != wcbroker::SysfsReadStatus::Ok || !(again.facts == record->facts))
            std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    build_tree();
    // The wrappers must see what the reader does, or the check proves nothing.
    std::vector<std::string> seen;
    accessed = &seen;
    const auto reading = wcbroker::read_pci_device(wcbroker::KernelPaths(tree->root), "0000:3b:00.0");
    accessed = nullptr;
    if (reading.status != wcbroker::SysfsReadStatus::Ok || reading.facts.bars.size() != 3 || seen.size() < 5) {
        std::fprintf(stderr, "fuzz-uevent: the fake tree or the --wrap interposition does not work (%zu calls seen)\n",
            seen.size());
        std::abort();
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const wcbroker::KernelPaths paths(tree->root);
    wcbroker::DeviceRegistry registry;
    for (const wcbroker::UdevEvent& event : parse_events(std::string_view(reinterpret_cast<const char*>(data), size))) {
        const auto canonical = wcbroker::canonical_pci_address(event.sysname);
        const bool is_group = !event.sysname.empty() && event.sysname.find_first_not_of("0123456789") == std::string::npos;
        std::set<std::string> known_in_group;
        for (const wcbroker::DeviceRecord* record : registry.devices()) {
            if (record->facts.iommu_group && std::to_string(*record->facts.iommu_group) == event.sysname)
                known_in_group.insert(record->facts.address);
        }

        std::vector<std::string> seen;
        accessed = &seen;
        wcbroker::for_each_device_to_refresh(event, paths, registry, [&](const std::string& address) {
            if (wcbroker::canonical_pci_address(address) != address)
                std::abort();
            if (event.subsystem == "pci" && address != canonical)
                std::abort();
            if (event.subsystem == "vfio") {
                const auto group = tree->groups.find(event.sysname);
                const bool listed = group != tree->groups.end() && group->second.count(address) != 0;
                if (!listed && known_in_group.count(address) == 0)
                    std::abort();
            }
            registry.apply(address, wcbroker::read_pci_device(paths, address));
        });
        accessed = nullptr;

        const bool may_touch = (event.subsystem == "pci" && canonical) || (event.subsystem == "vfio" && is_group);
        if (!may_touch && !seen.empty())
            std::abort();
        for (const std::string& path : seen) {
            if (!inside_the_tree(path)) {
                std::fprintf(stderr, "fuzz-uevent: touched %s\n", path.c_str());
                std::abort();
            }
        }
    }
    check_registry(registry, paths);
    return 0;
}
