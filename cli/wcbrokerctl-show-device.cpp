// wcbrokerctl show-device: everything wcbrokerd knows about one device.

#include "bus-client.hpp"
#include "byte-size.hpp"
#include "device-facts-file.hpp"
#include "online-options.hpp"
#include "pci-address.hpp"
#include "verbs.hpp"

#include <cstdio>
#include <iostream>

namespace wcbroker::cli {
namespace {

constexpr const char* help_text = R"(Usage: wcbrokerctl show-device [--json | --facts] [--bus ADDRESS] BDF

Show a device wcbrokerd serves: ids, driver, IOMMU group, and each BAR with
its size, whether it is prefetchable and write-combining capable, and
whether a driver (vfio-pci) has claimed it right now.

  --facts         print the device as a facts file for
                  'wcbrokerctl explain --device-facts'
  --json          print JSON
  --bus ADDRESS   talk to wcbrokerd on this bus instead of the system bus

Exit status: 0 shown, 1 no such device, 2 usage error, 3 wcbrokerd unreachable.
)";

constexpr OnlineVerbSyntax syntax{.verb = "show-device",
    .help_text = help_text,
    .argument_count = 1,
    .argument_count_error = "give one device address, e.g. 0000:3b:00.0",
    .own_switch = "facts"};

DeviceFacts facts_of(const Properties& properties)
{
    DeviceFacts facts;
    facts.address = properties.at("Address").get<std::string>();
    facts.vendor_id = properties.at("VendorId").get<std::uint16_t>();
    facts.device_id = properties.at("DeviceId").get<std::uint16_t>();
    facts.subsystem_vendor_id = properties.at("SubsystemVendorId").get<std::uint16_t>();
    facts.subsystem_device_id = properties.at("SubsystemDeviceId").get<std::uint16_t>();
    facts.class_code = properties.at("Class").get<std::uint32_t>();
    facts.driver = properties.at("Driver").get<std::string>();
    if (const std::int32_t group = properties.at("IommuGroup").get<std::int32_t>(); group >= 0)
        facts.iommu_group = static_cast<std::uint32_t>(group);
    facts.iommu_group_members = properties.at("IommuGroupMembers").get<std::vector<std::string>>();
    facts.numa_node = properties.at("NumaNode").get<std::int32_t>();
    for (const BarEntry& bar : bars_of(properties)) {
        BarFacts b;
        b.index = std::get<0>(bar);
        b.start = std::get<1>(bar);
        b.size = std::get<2>(bar);
        b.kind = parse_bar_kind(std::get<3>(bar)).value_or(BarKind::Memory64);
        b.prefetchable = std::get<4>(bar);
        b.has_wc_file = std::get<5>(bar);
        b.has_uc_file = b.is_memory();
        facts.bars.push_back(b);
    }
    return facts;
}

} // namespace

int run_show_device(int argc, char** argv)
{
    OnlineOptions options;
    if (auto done = parse_online_verb(syntax, argc, argv, options))
        return *done;
    const bool facts_file = options.own_switch;
    const std::string& given = options.arguments[0];
    auto address = canonical_pci_address(given);
    if (!address)
        return usage_error("show-device", "'" + given + "' is not a PCI address such as 0000:3b:00.0");
    try {
        auto connection = connect_bus(options.bus);
        const auto devices = objects_with(managed_objects(*connection), device_interface);
        const Properties* found = find_device(devices, *address);
        if (found == nullptr) {
            std::fprintf(stderr, "wcbrokerctl show-device: wcbrokerd does not serve %s (not present, or not bound "
                                 "to vfio-pci)\n",
                address->c_str());
            return exit_no;
        }
        const DeviceFacts facts = facts_of(*found);
        if (facts_file) {
            std::cout << device_facts_to_toml(facts) << "\n";
            return exit_ok;
        }
        if (options.json) {
            toml::table root;
            insert_device_properties(root, *found);
            print_json(root);
            return exit_ok;
        }
        std::printf("Device:     %s\n", facts.address.c_str());
        std::printf("IDs:        %04x:%04x (subsystem %04x:%04x), class %06x\n", facts.vendor_id, facts.device_id,
            facts.subsystem_vendor_id, facts.subsystem_device_id, facts.class_code);
        std::printf("Driver:     %s\n", facts.driver.c_str());
        std::string members;
        for (const std::string& member : facts.iommu_group_members)
            members += (members.empty() ? "" : ", ") + member;
        std::printf("IOMMU:      %s\n",
            facts.iommu_group ? ("group " + std::to_string(*facts.iommu_group) + " (" + members + ")").c_str() : "none");
        std::printf("NUMA node:  %d\n", facts.numa_node);
        for (const BarEntry& bar : bars_of(*found)) {
            std::printf("BAR %u:      %s at %s, %s%s%s%s\n", std::get<0>(bar), format_byte_size(std::get<2>(bar)).c_str(),
                format_hex(std::get<1>(bar)).c_str(), std::get<3>(bar).c_str(), std::get<4>(bar) ? ", prefetchable" : "",
                std::get<5>(bar) ? ", write-combining capable" : "",
                std::get<6>(bar).empty() ? "" : (", CLAIMED by " + std::get<6>(bar)).c_str());
        }
        return exit_ok;
    } catch (const sdbus::Error& error) {
        return report("show-device", error);
    }
}

} // namespace wcbroker::cli
