#include "device-facts-file.hpp"

#include "byte-size.hpp"
#include "pci-address.hpp"
#include "toml-reader.hpp"

#include <fstream>
#include <sstream>

namespace wcbroker::cli {
namespace {

std::optional<std::uint64_t> read_u64(const TableReader& reader, std::string_view key, std::uint64_t max,
    std::string_view expected)
{
    const toml::node* node = reader.find(key);
    if (node == nullptr)
        return std::nullopt;
    std::optional<std::uint64_t> value;
    if (node->is_integer() && *node->value<std::int64_t>() >= 0)
        value = static_cast<std::uint64_t>(*node->value<std::int64_t>());
    else if (node->is_string())
        value = parse_byte_size(*node->value<std::string_view>());
    if (!value || *value > max) {
        reader.error_at(*node, key, "expected " + std::string(expected));
        return std::nullopt;
    }
    return value;
}

std::optional<BarFacts> parse_bar(const TableReader& reader)
{
    reader.reject_unknown_keys({"index", "start", "size", "kind", "prefetchable", "flags", "uc_file", "wc_file"});
    const std::size_t errors_before = reader.diagnostics().error_count();
    BarFacts bar;
    if (auto index = read_u64(reader, "index", max_bar_index, "a BAR index from 0 to 5"))
        bar.index = static_cast<std::uint32_t>(*index);
    else if (reader.find("index") == nullptr)
        reader.error_missing("index", "missing index = N (0 to 5)");
    if (auto size = read_u64(reader, "size", UINT64_MAX, "a size such as \"1MiB\" or 0x100000"))
        bar.size = *size;
    if (reader.find("size") == nullptr || bar.size == 0)
        reader.error_missing("size", "a BAR needs a non-zero size = \"...\"");
    bar.start = read_u64(reader, "start", UINT64_MAX, "a physical address such as 0xfe000000").value_or(0);
    bar.flags = read_u64(reader, "flags", UINT64_MAX, "the IORESOURCE flags as an integer").value_or(0);
    bar.kind = BarKind::Memory64;
    if (auto kind = reader.string("kind", "\"memory32\", \"memory64\" or \"io\"")) {
        if (auto parsed = parse_bar_kind(*kind))
            bar.kind = *parsed;
        else
            reader.error_at(*reader.find("kind"), "kind", "expected \"memory32\", \"memory64\" or \"io\"");
    }
    bar.prefetchable = reader.boolean("prefetchable").value_or(false);
    bar.has_uc_file = reader.boolean("uc_file").value_or(bar.is_memory());
    bar.has_wc_file = reader.boolean("wc_file").value_or(bar.prefetchable && bar.is_memory());
    if (reader.diagnostics().error_count() != errors_before)
        return std::nullopt;
    return bar;
}

} // namespace

std::optional<DeviceFacts> parse_device_facts(const std::string& file, std::string_view text,
    Diagnostics& diagnostics)
{
    toml::table root;
    try {
        root = toml::parse(text, file);
    } catch (const toml::parse_error& error) {
        diagnostics.error({file, error.source().begin.line, error.source().begin.column}, "",
            std::string(error.description()));
        return std::nullopt;
    }
    TableReader reader(root, "", file, diagnostics);
    reader.reject_unknown_keys({"address", "vendor", "device", "subsystem_vendor", "subsystem_device", "class",
        "driver", "iommu_group", "iommu_group_members", "numa_node", "bar"});
    DeviceFacts facts;
    if (auto address = reader.string("address", "a PCI address such as \"0000:3b:00.0\"")) {
        if (auto canonical = canonical_pci_address(*address))
            facts.address = *canonical;
        else
            reader.error_at(*reader.find("address"), "address", "expected a PCI address such as \"0000:3b:00.0\"");
    } else if (reader.find("address") == nullptr) {
        reader.error_missing("address", "missing address = \"DDDD:BB:DD.F\"");
    }
    const std::string id = "a 16-bit id such as 0x1d0f";
    facts.vendor_id = static_cast<std::uint16_t>(read_u64(reader, "vendor", 0xffff, id).value_or(0));
    facts.device_id = static_cast<std::uint16_t>(read_u64(reader, "device", 0xffff, id).value_or(0));
    facts.subsystem_vendor_id = static_cast<std::uint16_t>(read_u64(reader, "subsystem_vendor", 0xffff, id).value_or(0));
    facts.subsystem_device_id = static_cast<std::uint16_t>(read_u64(reader, "subsystem_device", 0xffff, id).value_or(0));
    facts.class_code = static_cast<std::uint32_t>(read_u64(reader, "class", 0xffffff, "a 24-bit class code").value_or(0));
    facts.driver = reader.string("driver", "a driver name").value_or("vfio-pci");
    if (auto group = read_u64(reader, "iommu_group", INT32_MAX, "an IOMMU group number"))
        facts.iommu_group = static_cast<std::uint32_t>(*group);
    if (auto node = reader.integer("numa_node", "a NUMA node number or -1"))
        facts.numa_node = static_cast<int>(*node);
    // An empty member list is a fact (no group), unlike an empty list in a policy.
    const toml::node* members = reader.find("iommu_group_members");
    const bool no_members = members != nullptr && members->is_array() && members->as_array()->empty();
    for (const toml::node* member :
        no_members ? std::vector<const toml::node*>{} : reader.scalar_list("iommu_group_members", "PCI addresses")) {
        if (auto canonical = canonical_pci_address(member->value<std::string_view>().value_or("")))
            facts.iommu_group_members.push_back(*canonical);
        else
            reader.error_at(*member, "iommu_group_members", "expected a PCI address such as \"0000:3b:00.0\"");
    }
    if (const toml::node* bars = reader.find("bar")) {
        const toml::array* array = bars->as_array();
        if (array == nullptr || !array->is_array_of_tables()) {
            reader.error_at(*bars, "bar", "expected [[bar]] tables, one per BAR");
        } else {
            for (std::size_t i = 0; i < array->size(); ++i) {
                TableReader bar_reader(*array->get(i)->as_table(), "bar[" + std::to_string(i) + "]", file, diagnostics);
                if (auto bar = parse_bar(bar_reader)) {
                    if (facts.bar(bar->index) != nullptr)
                        bar_reader.error_at(*bar_reader.find("index"), "index", "BAR " + std::to_string(bar->index) + " is listed twice");
                    else
                        facts.bars.push_back(*bar);
                }
            }
        }
    }
    if (diagnostics.has_errors())
        return std::nullopt;
    return facts;
}

std::optional<DeviceFacts> read_device_facts_file(const std::string& path, Diagnostics& diagnostics)
{
    std::ifstream in(path);
    if (!in) {
        diagnostics.error({path, 0, 0}, "", "cannot read device facts file");
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_device_facts(path, text.str(), diagnostics);
}

toml::table device_facts_to_toml(const DeviceFacts& facts)
{
    toml::table table;
    table.insert("address", facts.address);
    table.insert("vendor", static_cast<std::int64_t>(facts.vendor_id));
    table.insert("device", static_cast<std::int64_t>(facts.device_id));
    table.insert("subsystem_vendor", static_cast<std::int64_t>(facts.subsystem_vendor_id));
    table.insert("subsystem_device", static_cast<std::int64_t>(facts.subsystem_device_id));
    table.insert("class", static_cast<std::int64_t>(facts.class_code));
    table.insert("driver", facts.driver);
    if (facts.iommu_group)
        table.insert("iommu_group", static_cast<std::int64_t>(*facts.iommu_group));
    toml::array members;
    for (const std::string& member : facts.iommu_group_members)
        members.push_back(member);
    table.insert("iommu_group_members", std::move(members));
    table.insert("numa_node", static_cast<std::int64_t>(facts.numa_node));
    toml::array bars;
    for (const BarFacts& bar : facts.bars) {
        toml::table entry;
        entry.insert("index", static_cast<std::int64_t>(bar.index));
        entry.insert("start", static_cast<std::int64_t>(bar.start));
        entry.insert("size", static_cast<std::int64_t>(bar.size));
        entry.insert("flags", static_cast<std::int64_t>(bar.flags));
        entry.insert("kind", std::string(bar_kind_name(bar.kind)));
        entry.insert("prefetchable", bar.prefetchable);
        entry.insert("uc_file", bar.has_uc_file);
        entry.insert("wc_file", bar.has_wc_file);
        bars.push_back(std::move(entry));
    }
    table.insert("bar", std::move(bars));
    return table;
}

} // namespace wcbroker::cli
