// The broker: what wcbrokerd does, apart from how it is reached. Every
// entry point takes the caller as the bus recorded it, asks the authorizer,
// and answers with a value or a BrokerError. D-Bus glue (broker-dbus.cpp)
// only translates.
#pragma once

#include "audit-log.hpp"
#include "authorizer.hpp"
#include "bar-claims.hpp"
#include "device-tracker.hpp"
#include "grants.hpp"
#include "lease-persistence.hpp"
#include "lease-table.hpp"
#include "policy-store.hpp"
#include "range-mapper.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wcbroker {

enum class LeaseEnd {
    Released,         // the owner asked
    ReleasedByAnother, // root released it: the owner did not ask, and is told
    OwnerGone, // the owner's bus connection closed
    Revoked,   // the device or the policy changed
};

// What the outside world is told: the D-Bus glue exports and removes
// objects and emits signals from these.
class BrokerObserver {
public:
    virtual ~BrokerObserver() = default;
    virtual void lease_granted(const Lease& lease) = 0;
    // NOTICE is what the owner may be told: the reason without details of
    // the policy or of other callers, which stay in the audit record.
    virtual void lease_ending(const Lease& lease, LeaseEnd how, const std::string& notice) = 0;
    // A lease survived a re-decision (policy reload, device change); its
    // rule, audit-only flag or policy generation may have moved on.
    virtual void lease_redecided(const Lease& lease) = 0;
    virtual void device_added(const DeviceRecord& record) = 0;
    virtual void device_removed(const DeviceFacts& facts, const std::string& reason) = 0;
    virtual void policy_reloaded(std::uint64_t generation) = 0;
};

struct BrokerConfig {
    KernelPaths paths;
    PolicySources policy_sources = default_policy_sources();
    LoadOptions load_options;
    // A cap per uid across all rules, so a client cannot exhaust the
    // daemon's file descriptors by acquiring without end.
    std::size_t max_leases_per_uid = 1024;
};

// A request as a client spelled it; the broker validates every field.
struct RequestArguments {
    std::string device;
    std::uint32_t bar = 0;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::string access;
};

struct AcquireArguments : RequestArguments {
    bool require_verified_wc = false;
    bool require_kernel_enforced_range = false;
    std::string label;
};

struct AcquireGrant {
    const Lease* lease = nullptr;
    UniqueFd fd; // the client's own copy
    std::uint64_t mmap_offset = 0; // for mmap(2): the range's offset for sysfs, 0 for a wcalias alias
    std::uint64_t bar_size = 0;
};

// A lease a previous run of the daemon granted, as its record gave it back.
struct LeaseToRestore {
    LeaseInfo lease;               // from the record
    UniqueFd fd;                   // from systemd's fd store; invalid when there was none
                                   // (for wcalias: the alias fd, checked with WCALIAS_IOC_QUERY)
    bool fd_from_store = false;
    std::string owner_problem;     // why the owner no longer holds it ("" when it is still connected)
    bool owner_unconfirmed = false; // the bus could not say; the lease is revoked rather than kept
};

struct ExplainAnswer {
    bool allowed = false;
    std::string rule; // the deciding rule, or the nearest; "" when none
    std::string reason;
    std::string mechanism; // "" when none could serve it
};

class Broker final : public DeviceListener {
public:
    Broker(BrokerConfig config, AuditLog& audit);

    // The registry is the tracker's; the tracker reports to this broker.
    void attach(const DeviceRegistry& registry) { registry_ = &registry; }
    void set_observer(BrokerObserver* observer) { observer_ = observer; }
    void set_persistence(LeaseStateKeeper* persistence) { persistence_ = persistence; }
    // Serve through the wcalias module whenever CONTROL is usable, and keep
    // its BAR claims in line with the policy (bar-claims.hpp). Set before
    // devices arrive (cold-plug), so that claims are made at bind.
    void set_wcalias(WcaliasControl* control);
    WcaliasControl* wcalias() const { return wcalias_; }
    const BarClaims& bar_claims() const { return bar_claims_; }

    // At start: a policy with errors leaves everything denied, and says so.
    ReloadOutcome load_initial_policy();

    Expected<AcquireGrant> acquire(const Caller& caller, const AcquireArguments& arguments);
    Expected<ExplainAnswer> explain(const Caller& caller, const RequestArguments& arguments);
    // What the policy grants the caller on one BAR of a served device, as
    // ranges; open to every caller, about itself only, like explain().
    Expected<std::vector<Grant>> list_grants(const Caller& caller, const std::string& device, std::uint32_t bar);
    Expected<bool> release(const Caller& caller, std::uint64_t lease_id);
    Expected<ReloadOutcome> reload(const Caller& caller);
    // SIGHUP, systemctl reload: the service manager asked, as root.
    ReloadOutcome reload_requested_by_signal();
    void client_gone(const std::string& bus_name);
    // The kernel revokes every sysfs mapping of a BAR the moment a driver
    // claims it (vfio-pci: at a BAR's first use on 6.x, at device open on
    // 7.x). Ends the leases of BARs that /proc/iomem now shows claimed, so
    // that what wcbrokerd lists matches what the kernel left. Reads
    // /proc/iomem once when leases are live; nothing without leases.
    void end_leases_on_claimed_bars();
    // At start, before the bus name is owned: takes over the leases a
    // previous run granted whose owners are still there, and drops (and
    // audits) the others.
    void restore_leases(std::vector<LeaseToRestore> leases);

    Expected<std::vector<const DeviceRecord*>> list_devices(const Caller& caller) const;
    Expected<std::vector<const Lease*>> list_leases(const Caller& caller) const;

    void device_added(const DeviceRecord& record) override;
    void device_changed(const DeviceRecord& record) override;
    void device_removed(const DeviceFacts& last_known, const std::string& reason) override;

    const PolicyStore& policy() const { return store_; }
    const LeaseTable& leases() const { return leases_; }
    // How many leases have ended since the daemon started, however they ended.
    std::uint64_t leases_ended() const { return leases_ended_; }
    RangeMapper& mapper() { return mapper_; }
    // For sd_notify STATUS=: "Serving 2 devices, 3 leases; policy generation 4 (enforce)".
    std::string status() const;

private:
    struct Validated {
        std::string address;
        AccessRequest request;
    };
    Expected<std::string> validate_device_and_bar(const std::string& device, std::uint32_t bar) const; // the canonical address
    Expected<Validated> validate(const RequestArguments& arguments) const;
    Expected<const DeviceRecord*> served_device(const std::string& address) const;
    ReloadOutcome apply_reload(const std::string& requested_by);
    void recheck_leases(const std::vector<std::uint64_t>& ids, const std::string& why);
    // NOTICE, when not empty, is what the owner is told instead of REASON.
    void end_lease(std::uint64_t id, LeaseEnd how, const std::string& reason, const std::string& notice = {});
    void audit_lease_end(const LeaseInfo& lease, LeaseEnd how, const std::string& reason);
    // Makes the client's mapping of a wcalias lease die; nothing for sysfs.
    void revoke_alias(const LeaseInfo& lease);
    void update_bar_claims(const DeviceFacts& device);
    // Why a restored wcalias lease cannot be kept, from the module's answer
    // about its stored fd; "" when it is live and this daemon's.
    std::string alias_problem(const LeaseToRestore& item);
    // Puts a predecessor's lease back in the table under its id, audits it
    // and announces it; returns the id.
    std::uint64_t take_over(LeaseInfo lease, UniqueFd fd, bool fd_from_store);
    void audit_acquire(AuditKind kind, const Caller& caller, const Validated& request, const std::string& message,
        const AuditFields& extra);

    BrokerConfig config_;
    AuditLog& audit_;
    PolicyStore store_;
    PolicyFileCache policy_cache_;
    RangeMapper mapper_;
    LeaseTable leases_;
    const DeviceRegistry* registry_ = nullptr;
    BrokerObserver* observer_ = nullptr;
    LeaseStateKeeper* persistence_ = nullptr;
    WcaliasControl* wcalias_ = nullptr;
    BarClaims bar_claims_{audit_};
    std::uint64_t leases_ended_ = 0;
};

} // namespace wcbroker
