// Helpers shared by the policy unit tests.
#pragma once

#include "device-facts.hpp"
#include "policy-loader.hpp"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace wcbroker::test {

// A user and group database that does not depend on the host's.
class FakeNames final : public NameResolver {
public:
    std::optional<uid_t> user_id(const std::string& name) const override
    {
        static const std::map<std::string, uid_t> users{{"root", 0}, {"alice", 1000}, {"bob", 1001}, {"dpdk", 1100}};
        auto it = users.find(name);
        return it == users.end() ? std::nullopt : std::optional<uid_t>(it->second);
    }
    std::optional<gid_t> group_id(const std::string& name) const override
    {
        static const std::map<std::string, gid_t> groups{{"root", 0}, {"dpdk", 2000}, {"spdk", 2100}};
        auto it = groups.find(name);
        return it == groups.end() ? std::nullopt : std::optional<gid_t>(it->second);
    }
};

inline LoadOptions fake_options(bool unknown_names_are_errors = true)
{
    static const FakeNames names;
    LoadOptions options;
    options.names = &names;
    options.unknown_names_are_errors = unknown_names_are_errors;
    return options;
}

inline LoadResult load_text(const std::string& text, bool unknown_names_are_errors = true)
{
    return load_policy_from_texts({{"policy.toml", text}}, fake_options(unknown_names_are_errors));
}

inline LoadResult load_texts(const std::vector<std::pair<std::string, std::string>>& files)
{
    return load_policy_from_texts(files, fake_options());
}

inline std::vector<std::string> rendered(const LoadResult& result)
{
    std::vector<std::string> lines;
    for (const Diagnostic& diagnostic : result.diagnostics.all())
        lines.push_back(diagnostic.to_string());
    return lines;
}

// An Intel NIC at 0000:3b:00.0 on vfio-pci with a 16 KiB BAR 0 and a 1 MiB
// prefetchable 64-bit BAR 2.
inline DeviceFacts nic_facts(std::string address = "0000:3b:00.0")
{
    DeviceFacts facts;
    facts.address = std::move(address);
    facts.vendor_id = 0x8086;
    facts.device_id = 0x1572;
    facts.subsystem_vendor_id = 0x8086;
    facts.subsystem_device_id = 0x0001;
    facts.class_code = 0x020000;
    facts.driver = "vfio-pci";
    facts.iommu_group = 7;
    BarFacts bar0;
    bar0.index = 0;
    bar0.size = 16 << 10;
    bar0.kind = BarKind::Memory32;
    bar0.has_uc_file = true;
    BarFacts bar2;
    bar2.index = 2;
    bar2.size = 1 << 20;
    bar2.kind = BarKind::Memory64;
    bar2.prefetchable = true;
    bar2.has_uc_file = true;
    bar2.has_wc_file = true;
    facts.bars = {bar0, bar2};
    return facts;
}

} // namespace wcbroker::test
