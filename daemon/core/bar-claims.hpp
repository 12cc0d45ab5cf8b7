// The BARs wcbrokerd claims through the wcalias module, kept in line with
// the policy. The rule (docs/admin.md, "BAR claims"): every BAR of a served
// device that some rule matching the device grants write-combining on is
// claimed when the device becomes served, so that a VFIO user of the same
// device cannot take it first; a BAR no rule needs any more after a reload
// is let go once its aliases are gone. A claim that fails (a VFIO user got
// there first) is logged and audited, never fatal.
#pragma once

#include "audit-log.hpp"
#include "policy.hpp"
#include "sysfs-pci-reader.hpp"
#include "wcalias-control.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace wcbroker {

// The memory BARs of DEVICE that some rule matching it (whoever it is for)
// grants write-combining on, ascending.
std::vector<std::uint32_t> bars_to_claim(const Policy& policy, const DeviceFacts& device);

class BarClaims {
public:
    explicit BarClaims(AuditLog& audit)
        : audit_(audit)
    {
    }

    // Claims what POLICY needs on DEVICE and not yet held; lets go of what
    // it held there and POLICY no longer needs (the module keeps a BAR with
    // live aliases until the last one ends). The first update of a device
    // also lets go of claims a predecessor made (a control fd from the fd
    // store). Nothing when CONTROL is unusable.
    void update(WcaliasControl& control, const Policy& policy, const DeviceFacts& device);
    // The device left vfio-pci or the machine: the kernel dropped its claims.
    void forget(const std::string& address);

    bool held(const std::string& address, std::uint32_t bar) const { return held_.contains({address, bar}); }
    std::size_t size() const { return held_.size(); }

private:
    AuditLog& audit_;
    std::set<std::pair<std::string, std::uint32_t>> held_;
    // Devices whose claims were put in line with the policy since start.
    std::set<std::string> reconciled_;
    // Failed claims already audited, so that retries do not repeat the record.
    std::set<std::pair<std::string, std::uint32_t>> failed_;
};

} // namespace wcbroker
