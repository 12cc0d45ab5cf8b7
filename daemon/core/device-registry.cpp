#include "device-registry.hpp"

namespace wcbroker {

RegistryChange DeviceRegistry::apply(const std::string& address, const SysfsReadResult& reading)
{
    RegistryChange change;
    if (reading.status == SysfsReadStatus::Incomplete)
        return change;
    auto known = devices_.find(address);
    const bool serve = reading.status == SysfsReadStatus::Ok && reading.facts.driver == "vfio-pci";
    if (!serve) {
        if (known == devices_.end())
            return change;
        change.kind = RegistryChangeKind::Removed;
        change.facts = std::move(known->second.facts);
        if (reading.status == SysfsReadStatus::Gone)
            change.reason = "device removed";
        else if (reading.facts.driver.empty())
            change.reason = "device unbound from vfio-pci";
        else
            change.reason = "device unbound from vfio-pci, now bound to " + reading.facts.driver;
        devices_.erase(known);
        return change;
    }
    if (known == devices_.end()) {
        devices_.emplace(address, DeviceRecord{reading.facts, next_generation_++});
        change.kind = RegistryChangeKind::Added;
        change.facts = reading.facts;
        return change;
    }
    if (known->second.facts == reading.facts)
        return change;
    known->second.facts = reading.facts;
    known->second.generation = next_generation_++;
    change.kind = RegistryChangeKind::Changed;
    change.facts = reading.facts;
    return change;
}

const DeviceRecord* DeviceRegistry::find(std::string_view address) const
{
    auto it = devices_.find(address);
    return it == devices_.end() ? nullptr : &it->second;
}

std::vector<const DeviceRecord*> DeviceRegistry::devices() const
{
    std::vector<const DeviceRecord*> all;
    for (const auto& [address, record] : devices_)
        all.push_back(&record);
    return all;
}

} // namespace wcbroker
