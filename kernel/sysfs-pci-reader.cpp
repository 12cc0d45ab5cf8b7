#include "sysfs-pci-reader.hpp"

#include "pci-resource-file.hpp"
#include "sysfs-files.hpp"
#include "text-scan.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>

namespace wcbroker {
namespace {

std::optional<std::uint64_t> parse_hex_attribute(const std::string& text)
{
    std::string_view digits = text;
    if (digits.starts_with("0x"))
        digits.remove_prefix(2);
    return parse_whole_number<std::uint64_t>(digits, 16);
}

class DeviceReader {
public:
    DeviceReader(const KernelPaths& paths, const std::string& address)
        : dir_(paths.pci_device(address))
    {
        result_.facts.address = address;
    }

    SysfsReadResult read();

private:
    std::optional<std::uint64_t> hex_attribute(const char* name, std::uint64_t max);
    void incomplete(const std::string& what);

    std::string dir_;
    SysfsReadResult result_;
};

void DeviceReader::incomplete(const std::string& what)
{
    if (result_.status == SysfsReadStatus::Incomplete)
        return; // keep the first problem
    result_.status = SysfsReadStatus::Incomplete;
    result_.problem = what;
}

std::optional<std::uint64_t> DeviceReader::hex_attribute(const char* name, std::uint64_t max)
{
    auto text = read_attribute(dir_ + "/" + name);
    if (!text) {
        incomplete(std::string(name) + ": " + std::strerror(errno));
        return std::nullopt;
    }
    auto value = parse_hex_attribute(*text);
    if (!value || *value > max) {
        incomplete(std::string(name) + ": unexpected contents \"" + *text + "\"");
        return std::nullopt;
    }
    return value;
}

SysfsReadResult DeviceReader::read()
{
    if (!path_exists(dir_)) {
        result_.status = SysfsReadStatus::Gone;
        return result_;
    }
    result_.status = SysfsReadStatus::Ok;
    DeviceFacts& facts = result_.facts;
    facts.vendor_id = static_cast<std::uint16_t>(hex_attribute("vendor", 0xffff).value_or(0));
    facts.device_id = static_cast<std::uint16_t>(hex_attribute("device", 0xffff).value_or(0));
    facts.subsystem_vendor_id = static_cast<std::uint16_t>(hex_attribute("subsystem_vendor", 0xffff).value_or(0));
    facts.subsystem_device_id = static_cast<std::uint16_t>(hex_attribute("subsystem_device", 0xffff).value_or(0));
    facts.class_code = static_cast<std::uint32_t>(hex_attribute("class", 0xffffff).value_or(0));

    // No driver link is a normal state (unbound), not an incomplete read.
    facts.driver = read_link_name(dir_ + "/driver").value_or("");
    if (auto group = read_link_name(dir_ + "/iommu_group")) {
        if (auto number = parse_whole_number<std::uint32_t>(*group)) {
            facts.iommu_group = *number;
            facts.iommu_group_members = list_directory(dir_ + "/iommu_group/devices").value_or(std::vector<std::string>{});
        }
    }
    if (auto node = read_attribute(dir_ + "/numa_node")) {
        int value = -1;
        std::from_chars(node->data(), node->data() + node->size(), value);
        facts.numa_node = value;
    }

    auto resource = read_text_file(dir_ + "/resource", 65536);
    if (!resource) {
        incomplete(std::string("resource: ") + std::strerror(errno));
        return result_;
    }
    auto bars = parse_pci_resource_file(*resource);
    if (!bars) {
        incomplete("resource: malformed contents");
        return result_;
    }
    for (BarFacts& bar : *bars) {
        const std::string file = dir_ + "/resource" + std::to_string(bar.index);
        bar.has_uc_file = path_exists(file);
        bar.has_wc_file = path_exists(file + "_wc");
    }
    facts.bars = std::move(*bars);
    return result_;
}

} // namespace

SysfsReadResult read_pci_device(const KernelPaths& paths, const std::string& address)
{
    return DeviceReader(paths, address).read();
}

} // namespace wcbroker
