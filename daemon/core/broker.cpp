#include "broker.hpp"

#include "byte-size.hpp"
#include "log.hpp"
#include "pci-address.hpp"
#include "sysfs-mechanism.hpp"

#include <algorithm>
#include <fcntl.h>
#include <map>
#include <optional>
#include <set>
#include <time.h>
#include <unistd.h>

namespace wcbroker {
namespace {

constexpr std::size_t max_label_length = 64;

// The lease is charged to the first allowing rule that still has room
// under its max_leases, given how many leases the caller holds under each
// (HELD_UNDER(rule name)); nullptr when none has.
template <typename HeldUnder>
const Rule* first_rule_with_room(const Decision& decision, HeldUnder held_under)
{
    for (const Rule* rule : decision.allowing_rules) {
        if (!rule->max_leases || held_under(rule->name) < *rule->max_leases)
            return rule;
    }
    return nullptr;
}

std::uint64_t realtime_usec()
{
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000 + static_cast<std::uint64_t>(now.tv_nsec) / 1000;
}

bool printable(const std::string& text)
{
    for (char c : text) {
        if (c < 0x20 || c > 0x7e)
            return false;
    }
    return true;
}

BrokerError denied(std::string message)
{
    return {ErrorKind::AccessDenied, std::move(message)};
}

std::string describe_lease(const LeaseInfo& lease)
{
    return "lease " + std::to_string(lease.id) + " (" + std::string(access_name(lease.request.access)) + " on "
        + lease.address + " BAR " + std::to_string(lease.request.bar) + " [" + format_hex(lease.request.offset) + ", +"
        + format_byte_size(lease.request.length) + ") for uid " + std::to_string(lease.holder.uid) + ")";
}

// What was asked for, spelled the same in every Acquire and lease record.
// Taken as plain values, because a refused request may not even parse.
AuditFields request_fields(std::string_view device, std::uint32_t bar, std::uint64_t offset, std::uint64_t length,
    std::string_view access)
{
    return {
        {"DEVICE", std::string(device)},
        {"BAR", std::to_string(bar)},
        {"OFFSET", format_hex(offset)},
        {"LENGTH", format_hex(length)},
        {"ACCESS", std::string(access)},
    };
}

AuditFields request_fields(const std::string& address, const AccessRequest& request)
{
    return request_fields(address, request.bar, request.offset, request.length, access_name(request.access));
}

void append(AuditFields& fields, AuditFields more)
{
    fields.insert(fields.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

AuditFields lease_fields(const LeaseInfo& lease)
{
    AuditFields fields{{"LEASE", std::to_string(lease.id)}};
    append(fields, request_fields(lease.address, lease.request));
    append(fields,
        {
            {"RULE", lease.rule_label},
            {"MECHANISM", lease.mechanism},
            {"MEMTYPE", std::string(memtype_name(lease.memtype))},
        });
    return fields;
}

} // namespace

Broker::Broker(BrokerConfig config, AuditLog& audit)
    : config_(std::move(config))
    , audit_(audit)
    , mapper_(config_.paths, config_.load_options.page_size)
{
}

void Broker::set_wcalias(WcaliasControl* control)
{
    wcalias_ = control;
    mapper_.use_wcalias(control);
}

void Broker::update_bar_claims(const DeviceFacts& device)
{
    if (wcalias_ != nullptr)
        bar_claims_.update(*wcalias_, *store_.current(), device);
}

void Broker::revoke_alias(const LeaseInfo& lease)
{
    if (lease.alias_id == 0 || wcalias_ == nullptr)
        return;
    // ENOENT (false) is fine: the kernel revoked it already (unbind, removal).
    if (auto revoked = wcalias_->revoke(lease.alias_id); !revoked)
        log_warning("lease " + std::to_string(lease.id) + ": " + revoked.error().message);
}

ReloadOutcome Broker::load_initial_policy()
{
    return apply_reload("start-up");
}

std::string Broker::status() const
{
    const std::size_t devices = registry_ != nullptr ? registry_->size() : 0;
    return "Serving " + std::to_string(devices) + " device(s), " + std::to_string(leases_.size())
        + " lease(s); policy generation " + std::to_string(store_.generation()) + " ("
        + std::string(enforcement_mode_name(store_.current()->mode)) + ")";
}

Expected<std::string> Broker::validate_device_and_bar(const std::string& device, std::uint32_t bar) const
{
    auto address = canonical_pci_address(device);
    if (!address) {
        return BrokerError{ErrorKind::InvalidArgument,
            "device: \"" + bounded_field(device)
                + "\" is not a PCI address; write it as sysfs does, domain:bus:device.function, e.g. 0000:3b:00.0"};
    }
    if (bar > max_bar_index)
        return BrokerError{ErrorKind::InvalidArgument, "bar: " + std::to_string(bar) + " is not a BAR index; use 0 to 5"};
    return *address;
}

Expected<Broker::Validated> Broker::validate(const RequestArguments& arguments) const
{
    auto address = validate_device_and_bar(arguments.device, arguments.bar);
    if (!address)
        return address.error();
    auto access = parse_access(arguments.access);
    if (!access) {
        return BrokerError{ErrorKind::InvalidArgument,
            "access: \"" + bounded_field(arguments.access) + "\" is not valid; use \"write-combine\" or \"uncached\""};
    }
    if (arguments.length > UINT64_MAX - arguments.offset) {
        return BrokerError{ErrorKind::InvalidRange,
            "offset " + format_hex(arguments.offset) + " + length " + format_hex(arguments.length) + " overflows 64 bits"};
    }
    return Validated{*address, {arguments.bar, arguments.offset, arguments.length, *access}};
}

Expected<const DeviceRecord*> Broker::served_device(const std::string& address) const
{
    if (registry_ != nullptr) {
        if (const DeviceRecord* record = registry_->find(address))
            return record;
    }
    // Say why, from sysfs itself: the difference between "no such device"
    // and "bound to another driver" is what the admin needs to know.
    const SysfsReadResult reading = read_pci_device(config_.paths, address);
    if (reading.status == SysfsReadStatus::Gone)
        return BrokerError{ErrorKind::NoSuchDevice, "there is no PCI device " + address};
    if (reading.status == SysfsReadStatus::Ok && reading.facts.driver != "vfio-pci") {
        return BrokerError{ErrorKind::NoSuchDevice,
            address + " is "
                + (reading.facts.driver.empty() ? std::string("not bound to any driver")
                                                : "bound to " + reading.facts.driver)
                + "; wcbrokerd serves devices bound to vfio-pci (e.g. driverctl set-override " + address
                + " vfio-pci)"};
    }
    return BrokerError{ErrorKind::NoSuchDevice, address + " is not ready yet; retry shortly"};
}

void Broker::audit_acquire(AuditKind kind, const Caller& caller, const Validated& request, const std::string& message,
    const AuditFields& extra)
{
    AuditRecord record;
    record.kind = kind;
    record.message = message;
    record.bus_name = caller.bus_name;
    record.caller = caller.identity;
    record.fields = request_fields(request.address, request.request);
    record.with("POLICY_GENERATION", std::to_string(store_.generation()));
    for (const auto& [field, value] : extra)
        record.with(field, value);
    audit_.record(record);
}

Expected<AcquireGrant> Broker::acquire(const Caller& caller, const AcquireArguments& arguments)
{
    // Refusals before the policy is asked are audited too: probing for
    // devices and ranges is worth seeing.
    auto refuse = [&](BrokerError error) -> Expected<AcquireGrant> {
        AuditRecord record;
        record.kind = AuditKind::AcquireFailed;
        record.message = "refused before the policy was asked: " + error.message;
        record.bus_name = caller.bus_name;
        record.caller = caller.identity;
        // The raw strings of a request that did not validate: bounded.
        record.fields = request_fields(bounded_field(arguments.device), arguments.bar, arguments.offset,
            arguments.length, bounded_field(arguments.access));
        record.with("DECISION", "invalid")
            .with("FAILURE", error.message)
            .with("POLICY_GENERATION", std::to_string(store_.generation()));
        audit_.record(record);
        return error;
    };
    auto validated = validate(arguments);
    if (!validated)
        return refuse(validated.error());
    const Validated& request = *validated;
    if (arguments.label.size() > max_label_length || !printable(arguments.label)) {
        return refuse({ErrorKind::InvalidArgument,
            "options: \"label\" must be at most 64 printable ASCII characters"});
    }
    auto device = served_device(request.address);
    if (!device)
        return refuse(device.error());
    const DeviceRecord& record = **device;
    if (auto invalid = mapper_.check_range(record.facts, request.request))
        return refuse(*invalid);

    // The choke point: the policy's answer for this caller.
    const std::shared_ptr<const Policy> policy = store_.current();
    const Verdict verdict = authorize(caller, action::Acquire{policy.get(), &record.facts, request.request});
    const Decision& decision = *verdict.policy;
    // A refusal comes explained already; a grant is explained for the audit trail.
    const std::string reason = verdict.allowed
        ? wcbroker::explain(*policy, decision, record.facts, caller.identity, request.request).reason
        : verdict.reason;
    AuditFields decision_fields{
        {"DECISION", decision.allowed ? "allow" : (decision.granted() ? "audit-allow" : "deny")},
        {"RULE", decision.rule() != nullptr ? decision.rule()->label() : ""},
        {"NEAREST_RULE", decision.nearest != nullptr ? decision.nearest->label() : ""},
        {"REASON", reason},
    };
    if (!verdict.allowed) {
        audit_acquire(AuditKind::AcquireDenied, caller, request, "denied: " + reason, decision_fields);
        if (explain_detail_for(caller.identity) == ExplainDetail::Full)
            return denied(reason);
        return denied(wcbroker::explain(*policy, decision, record.facts, caller.identity, request.request,
            ExplainDetail::VerdictAndRuleName)
                          .reason);
    }

    auto fail = [&](BrokerError error) -> Expected<AcquireGrant> {
        auto fields = decision_fields;
        fields.emplace_back("FAILURE", error.message);
        audit_acquire(AuditKind::AcquireFailed, caller, request, "allowed but not granted: " + error.message, fields);
        return error;
    };

    const Rule* charged = first_rule_with_room(
        decision, [&](const std::string& rule) { return leases_.count(rule, caller.identity.uid); });
    if (decision.allowed && charged == nullptr) {
        const Rule& first = *decision.allowing_rules.front();
        return fail({ErrorKind::LimitExceeded,
            "uid " + std::to_string(caller.identity.uid) + " already holds " + std::to_string(*first.max_leases)
                + " lease(s) under rule " + first.label() + ", its max_leases; release one first"});
    }
    if (leases_.count(caller.identity.uid) >= config_.max_leases_per_uid) {
        return fail({ErrorKind::LimitExceeded,
            "uid " + std::to_string(caller.identity.uid) + " holds " + std::to_string(config_.max_leases_per_uid)
                + " leases, the most wcbrokerd gives one uid (--max-leases-per-uid)"});
    }
    if (const Lease* other = leases_.conflicting(request.address, request.request)) {
        return fail({ErrorKind::Busy,
            "the range overlaps " + describe_lease(*other)
                + ", and one page cannot be mapped with two memory types; wait for it to be released"});
    }

    const bool require_verified = arguments.require_verified_wc || (charged != nullptr && charged->require_verified_wc);
    const bool require_enforced = arguments.require_kernel_enforced_range
        || (charged != nullptr && charged->require_kernel_enforced_range);
    auto mapped = mapper_.map(record.facts, record.generation, request.request, require_enforced);
    if (!mapped)
        return fail(mapped.error());
    // An alias made for a request that is refused after all must not live on.
    auto discard = [&](BrokerError error) {
        if (mapped->opened.alias_id != 0 && wcalias_ != nullptr)
            wcalias_->revoke(mapped->opened.alias_id);
        return fail(std::move(error));
    };
    if (request.request.access == Access::WriteCombine && require_verified
        && mapped->verification.memtype != Memtype::WriteCombining) {
        return discard({ErrorKind::Unsupported,
            std::string(arguments.require_verified_wc ? "the request" : "rule " + charged->label())
                + " requires verified write-combining, and the kernel set this range up as "
                + std::string(memtype_name(mapped->verification.memtype)) + ": " + mapped->verification.detail});
    }

    Lease lease;
    lease.id = leases_.allocate_id();
    lease.owner = caller.bus_name;
    lease.holder = caller.identity;
    lease.address = request.address;
    lease.request = request.request;
    lease.memtype = mapped->verification.memtype;
    lease.verification = mapped->verification.detail;
    lease.mechanism = std::string(mapped->mechanism->name());
    lease.range_enforcement = mapped->mechanism->range_enforcement();
    lease.rule = charged != nullptr ? charged->name : "";
    lease.rule_label = charged != nullptr ? charged->label() : "";
    lease.policy_generation = store_.generation();
    lease.audit_only = !decision.allowed;
    lease.client_requires_verified_wc = arguments.require_verified_wc;
    lease.label = arguments.label;
    lease.created_realtime_usec = realtime_usec();
    lease.file = identity_of(mapped->opened.fd.get(), mapped->opened.path).value_or(FileIdentity{mapped->opened.path});
    lease.alias_id = mapped->opened.alias_id;
    lease.fd = std::move(mapped->opened.fd);

    AcquireGrant grant;
    grant.mmap_offset = mapped->opened.mmap_offset;
    grant.fd = UniqueFd(::fcntl(lease.fd.get(), F_DUPFD_CLOEXEC, 3));
    if (!grant.fd.valid())
        return discard({ErrorKind::Failed, "cannot duplicate the fd for the client: out of file descriptors"});
    grant.bar_size = record.facts.bar(request.request.bar)->size;
    grant.lease = &leases_.add(std::move(lease));

    auto fields = lease_fields(*grant.lease); // RULE: the rule the lease is charged to
    fields.emplace_back("POLICY_GENERATION", std::to_string(grant.lease->policy_generation));
    for (const auto& field : decision_fields) {
        if (field.first != "RULE")
            fields.push_back(field);
    }
    fields.emplace_back("VERIFICATION", grant.lease->verification);
    fields.emplace_back("RANGE_ENFORCEMENT", std::string(range_enforcement_name(grant.lease->range_enforcement)));
    if (!grant.lease->label.empty())
        fields.emplace_back("LABEL", grant.lease->label);
    AuditRecord granted_record;
    granted_record.kind = decision.allowed ? AuditKind::AcquireGranted : AuditKind::AcquireAuditOnly;
    granted_record.message = (decision.allowed ? "granted " : "granted in audit mode although denied: ")
        + describe_lease(*grant.lease) + ", " + std::string(memtype_name(grant.lease->memtype)) + " via "
        + grant.lease->mechanism;
    granted_record.bus_name = caller.bus_name;
    granted_record.caller = caller.identity;
    granted_record.fields = std::move(fields);
    audit_.record(granted_record);

    if (persistence_ != nullptr)
        persistence_->lease_granted(*grant.lease);
    if (observer_ != nullptr)
        observer_->lease_granted(*grant.lease);
    return grant;
}

Expected<std::vector<Grant>> Broker::list_grants(const Caller& caller, const std::string& device, std::uint32_t bar)
{
    if (const Verdict verdict = authorize(caller, action::ListGrants{}); !verdict.allowed)
        return denied(verdict.reason);
    auto address = validate_device_and_bar(device, bar);
    if (!address)
        return address.error();
    auto record = served_device(*address);
    if (!record)
        return record.error();
    if (auto no_bar = mapper_.check_bar((*record)->facts, bar))
        return *no_bar;
    // The Grant's rule pointer lives as long as the policy it came from;
    // callers use it at once, before any reload can run.
    return grants_for(*store_.current(), (*record)->facts, caller.identity, bar);
}

Expected<ExplainAnswer> Broker::explain(const Caller& caller, const RequestArguments& arguments)
{
    if (const Verdict verdict = authorize(caller, action::Explain{}); !verdict.allowed)
        return denied(verdict.reason);
    auto validated = validate(arguments);
    if (!validated)
        return validated.error();
    auto device = served_device(validated->address);
    if (!device)
        return device.error();
    const DeviceFacts& facts = (*device)->facts;
    const std::shared_ptr<const Policy> policy = store_.current();
    const Decision decision = evaluate(*policy, facts, caller.identity, validated->request);
    const Explanation words = wcbroker::explain(*policy, decision, facts, caller.identity, validated->request,
        explain_detail_for(caller.identity));

    ExplainAnswer answer;
    // The policy's verdict, as the offline explain gives it; in audit mode
    // the reason says a denial would be granted anyway.
    answer.allowed = decision.allowed;
    answer.reason = words.reason;
    if (const Rule* rule = decision.rule() != nullptr ? decision.rule() : decision.nearest)
        answer.rule = explain_detail_for(caller.identity) == ExplainDetail::Full ? rule->label() : "'" + rule->name + "'";
    if (!answer.allowed)
        return answer;
    // The policy allows it; would the kernel side serve it?
    if (auto invalid = mapper_.check_range(facts, validated->request)) {
        answer.allowed = false;
        answer.reason += "; but " + invalid->message;
        return answer;
    }
    const Rule* rule = decision.rule();
    auto mechanism = mapper_.choose(facts, validated->request, rule != nullptr && rule->require_kernel_enforced_range);
    if (!mechanism) {
        answer.allowed = false;
        answer.reason += "; but " + mechanism.error().message;
        return answer;
    }
    answer.mechanism = std::string((*mechanism)->name());
    if (auto holder = mapper_.claimant(facts, *facts.bar(validated->request.bar));
        holder && !is_wcalias_claim(*holder) && (*mechanism)->range_enforcement() != RangeEnforcement::Kernel) {
        answer.allowed = false;
        answer.reason += "; but the BAR is claimed by " + *holder + " right now";
    }
    return answer;
}

Expected<bool> Broker::release(const Caller& caller, std::uint64_t lease_id)
{
    const Lease* lease = leases_.find(lease_id);
    if (lease == nullptr)
        return BrokerError{ErrorKind::NoSuchLease, "there is no lease " + std::to_string(lease_id)};
    if (const Verdict verdict = authorize(caller, action::Release{lease}); !verdict.allowed)
        return denied(verdict.reason);
    if (caller.bus_name == lease->owner)
        end_lease(lease_id, LeaseEnd::Released, "released by its owner");
    else
        end_lease(lease_id, LeaseEnd::ReleasedByAnother, "released by root (" + caller.bus_name + ")", "released by root");
    return true;
}

void Broker::client_gone(const std::string& bus_name)
{
    for (std::uint64_t id : leases_.owned_by(bus_name))
        end_lease(id, LeaseEnd::OwnerGone, "its owner " + bus_name + " disconnected from the bus");
}

void Broker::end_lease(std::uint64_t id, LeaseEnd how, const std::string& reason, const std::string& notice)
{
    const Lease* lease = leases_.find(id);
    if (lease == nullptr)
        return;
    // First, so that the client's mapping dies before anyone is told; then
    // the daemon's own copy of the fd closes with the lease.
    revoke_alias(*lease);
    if (observer_ != nullptr)
        observer_->lease_ending(*lease, how, notice.empty() ? reason : notice);
    audit_lease_end(*lease, how, reason);
    if (persistence_ != nullptr)
        persistence_->lease_ended(id);
    const std::string address = lease->address;
    const bool was_alias = lease->alias_id != 0;
    leases_.remove(id);
    ++leases_ended_;
    // A claim the policy stopped needing could not be dropped while this
    // alias lived; try again.
    if (was_alias && registry_ != nullptr) {
        if (const DeviceRecord* record = registry_->find(address))
            update_bar_claims(record->facts);
    }
}

void Broker::audit_lease_end(const LeaseInfo& lease, LeaseEnd how, const std::string& reason)
{
    AuditRecord record;
    record.kind = how == LeaseEnd::Released || how == LeaseEnd::ReleasedByAnother ? AuditKind::LeaseReleased
        : how == LeaseEnd::OwnerGone                                              ? AuditKind::LeaseOwnerGone
                                                                                  : AuditKind::LeaseRevoked;
    record.message = describe_lease(lease) + " ended: " + reason;
    record.bus_name = lease.owner;
    record.caller = lease.holder;
    record.fields = lease_fields(lease);
    record.with("REASON", reason);
    audit_.record(record);
    if (how == LeaseEnd::Revoked) {
        log_notice("revoked " + describe_lease(lease) + ": " + reason
            + (lease.range_enforcement == RangeEnforcement::Advisory
                    ? " (its sysfs mapping lasts until the client unmaps it or the kernel revokes it)"
                    : ""));
    }
}

void Broker::restore_leases(std::vector<LeaseToRestore> leases)
{
    std::vector<std::uint64_t> restored;
    for (LeaseToRestore& item : leases) {
        LeaseInfo& lease = item.lease;
        // An id stays unique in the audit trail, even that of a lease dropped here.
        leases_.skip_ids_through(lease.id);
        const std::string while_down = " while wcbrokerd was not running";
        // Its owner is gone: nobody to tell, only the audit trail.
        auto drop = [&](LeaseEnd how, const std::string& reason) {
            audit_lease_end(lease, how, reason);
            if (persistence_ != nullptr)
                persistence_->lease_ended(lease.id);
        };
        // Its owner may still be there and mapping: it learns of the end
        // the way it would have had the daemon been running, a Revoked
        // signal on the lease's object (sent once the name is owned).
        auto revoke = [&](const std::string& reason) {
            const Lease& added = leases_.add(Lease{std::move(lease), std::move(item.fd)});
            if (observer_ != nullptr)
                observer_->lease_granted(added);
            end_lease(added.id, LeaseEnd::Revoked, reason);
        };
        if (leases_.find(lease.id) != nullptr) {
            drop(LeaseEnd::Revoked, "its id was taken by another record"); // record files are named by id
            continue;
        }
        if (item.owner_unconfirmed) {
            revoke(item.owner_problem);
            continue;
        }
        if (!item.owner_problem.empty()) {
            drop(LeaseEnd::OwnerGone, item.owner_problem + while_down);
            continue;
        }
        if (registry_ == nullptr || registry_->find(lease.address) == nullptr) {
            revoke("the device stopped being served" + while_down);
            continue;
        }
        if (lease.alias_id != 0) {
            if (const std::string problem = alias_problem(item); !problem.empty()) {
                revoke(problem);
                continue;
            }
            restored.push_back(take_over(std::move(lease), std::move(item.fd), true));
            continue;
        }
        // The client maps the file the record names by device and inode
        // (the file its fd is). If the file at that path now is another one
        // (the device was removed and came back), the lease is about a file
        // that no longer exists. The path comes from the device, never from
        // the record alone: a damaged record must not make the daemon open
        // some other file.
        const std::string path = sysfs_resource_file(config_.paths, lease.address, lease.request.bar, lease.request.access);
        UniqueFd current(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY));
        const auto now = identity_of(current.get());
        const auto stored = identity_of(item.fd.get());
        if (lease.file.path != path || !now || !now->same_file(lease.file)
            || (item.fd.valid() && (!stored || !stored->same_file(lease.file)))) {
            revoke("the device's resource file changed" + while_down);
            continue;
        }
        // The stored fd is the very file the client maps; the reopened one
        // is the same file, by the check above.
        const bool from_store = item.fd_from_store;
        restored.push_back(take_over(std::move(lease), item.fd.valid() ? std::move(item.fd) : std::move(current), from_store));
    }
    // What the policy says now decides, as after a reload.
    recheck_leases(restored, "after a restart, policy generation " + std::to_string(store_.generation()));
}

std::uint64_t Broker::take_over(LeaseInfo lease, UniqueFd fd, bool fd_from_store)
{
    lease.policy_generation = store_.generation();
    const Lease& added = leases_.add(Lease{std::move(lease), std::move(fd)});
    AuditRecord record;
    record.kind = AuditKind::LeaseRecovered;
    record.message = describe_lease(added) + " taken over after a restart of wcbrokerd";
    record.bus_name = added.owner;
    record.caller = added.holder;
    record.fields = lease_fields(added);
    record.with("FD_FROM_STORE", fd_from_store ? "yes" : "no");
    audit_.record(record);
    if (observer_ != nullptr)
        observer_->lease_granted(added);
    return added.id;
}

std::string Broker::alias_problem(const LeaseToRestore& item)
{
    if (!item.fd.valid()) {
        return "its alias fd was not in the service manager's fd store (without it the alias cannot be "
               "checked, and without systemd the module revoked it when the old daemon's control fd closed)";
    }
    if (wcalias_ == nullptr || !wcalias_->usable())
        return "the wcalias module cannot be used now: " + (wcalias_ != nullptr ? wcalias_->why_unusable() : std::string("not opened"));
    auto state = wcalias_->query(item.fd.get());
    if (!state)
        return "its stored fd cannot be checked: " + state.error().message;
    if (state->id != item.lease.alias_id)
        return "its stored fd is alias " + std::to_string(state->id) + ", not the record's " + std::to_string(item.lease.alias_id);
    // A damaged record must not make the daemon vouch for another range.
    const AccessRequest& granted = item.lease.request;
    if (state->bar != granted.bar || state->offset != granted.offset || state->length != granted.length)
        return "its alias maps BAR " + std::to_string(state->bar) + " [" + format_hex(state->offset) + ", +"
            + format_hex(state->length) + "), not the record's range";
    if (!state->live)
        return "its alias was revoked by the kernel: " + state->revoked_because;
    if (!state->own)
        return "its alias belongs to a control context this daemon does not hold (the old control fd was not kept)";
    return "";
}

Expected<ReloadOutcome> Broker::reload(const Caller& caller)
{
    if (const Verdict verdict = authorize(caller, action::Reload{}); !verdict.allowed)
        return denied(verdict.reason);
    ReloadOutcome outcome = apply_reload("uid " + std::to_string(caller.identity.uid) + " (" + caller.bus_name + ")");
    if (!outcome.applied) {
        std::string message = "the new policy has " + std::to_string(outcome.diagnostics.error_count())
            + " error(s); still enforcing generation " + std::to_string(outcome.generation) + ":";
        for (const Diagnostic& diagnostic : outcome.diagnostics.all())
            message += "\n" + diagnostic.to_string();
        return BrokerError{ErrorKind::PolicyError, message};
    }
    return outcome;
}

ReloadOutcome Broker::reload_requested_by_signal()
{
    return apply_reload("the service manager (SIGHUP)");
}

ReloadOutcome Broker::apply_reload(const std::string& requested_by)
{
    LoadResult candidate = load_policy(config_.policy_sources, config_.load_options, &policy_cache_);
    // A main policy file that vanished is far more often an accident (a
    // package removal, an editor's rename gone wrong) than a decision to
    // deny everything, which an empty policy says explicitly.
    const std::string& main_file = config_.policy_sources.main_file;
    const auto& current_files = store_.current()->files;
    if (candidate.policy != nullptr && std::find(current_files.begin(), current_files.end(), main_file) != current_files.end()
        && std::find(candidate.files.begin(), candidate.files.end(), main_file) == candidate.files.end()) {
        candidate.diagnostics.error({main_file, 0, 0}, "",
            "the main policy file was removed; the policy in force stays. To deny every request, write a "
            "policy without rules (version = 1) instead");
        candidate.policy = nullptr;
    }
    ReloadOutcome outcome = store_.offer(std::move(candidate));
    for (const Diagnostic& diagnostic : outcome.diagnostics.all()) {
        if (diagnostic.severity == Severity::Error)
            log_error(diagnostic.to_string());
        else
            log_warning(diagnostic.to_string());
    }
    AuditRecord record;
    record.with("POLICY_GENERATION", std::to_string(outcome.generation)).with("REQUESTED_BY", requested_by);
    if (!outcome.applied) {
        record.kind = AuditKind::PolicyRejected;
        record.message = "policy reload requested by " + requested_by + " refused: "
            + std::to_string(outcome.diagnostics.error_count()) + " error(s); keeping generation "
            + std::to_string(outcome.generation);
        record.with("ERRORS", std::to_string(outcome.diagnostics.error_count()));
        audit_.record(record);
        return outcome;
    }
    const Policy& policy = *store_.current();
    record.kind = AuditKind::PolicyReloaded;
    record.message = "policy generation " + std::to_string(outcome.generation) + " loaded (requested by "
        + requested_by + "): " + std::to_string(policy.files.size()) + " file(s), " + std::to_string(policy.rules.size())
        + " rule(s), mode " + std::string(enforcement_mode_name(policy.mode));
    record.with("RULES", std::to_string(policy.rules.size()))
        .with("MODE", std::string(enforcement_mode_name(policy.mode)))
        .with("WARNINGS", std::to_string(outcome.diagnostics.warning_count()));
    audit_.record(record);
    std::vector<std::uint64_t> all;
    for (const Lease* lease : leases_.all())
        all.push_back(lease->id);
    recheck_leases(all, "policy generation " + std::to_string(outcome.generation));
    // After the leases the new policy ends are gone, so that their BARs can be let go.
    if (registry_ != nullptr) {
        for (const DeviceRecord* device : registry_->devices())
            update_bar_claims(device->facts);
    }
    if (observer_ != nullptr)
        observer_->policy_reloaded(outcome.generation);
    return outcome;
}

// Re-decides leases against the policy and devices as they are now, oldest
// first, so that when a limit shrinks the oldest leases are the ones kept.
void Broker::recheck_leases(const std::vector<std::uint64_t>& ids, const std::string& why)
{
    const std::shared_ptr<const Policy> policy = store_.current();
    // What the leases not being rechecked hold, per rule and uid.
    const std::set<std::uint64_t> rechecked(ids.begin(), ids.end());
    std::map<std::pair<std::string, uid_t>, std::size_t> held;
    for (const Lease* lease : leases_.all()) {
        if (!rechecked.contains(lease->id))
            ++held[{lease->rule, lease->holder.uid}];
    }
    for (std::uint64_t id : ids) {
        Lease* lease = leases_.find(id);
        if (lease == nullptr)
            continue;
        const DeviceRecord* record = registry_ != nullptr ? registry_->find(lease->address) : nullptr;
        if (record == nullptr) {
            end_lease(id, LeaseEnd::Revoked, why + ": the device is no longer served");
            continue;
        }
        const Decision decision = evaluate(*policy, record->facts, lease->holder, lease->request);
        if (!decision.granted()) {
            end_lease(id, LeaseEnd::Revoked,
                why + " no longer grants it: "
                    + wcbroker::explain(*policy, decision, record->facts, lease->holder, lease->request).reason,
                why + " no longer grants it");
            continue;
        }
        const Rule* charged = first_rule_with_room(
            decision, [&](const std::string& rule) { return held[{rule, lease->holder.uid}]; });
        if (decision.allowed && charged == nullptr) {
            end_lease(id, LeaseEnd::Revoked,
                why + ": uid " + std::to_string(lease->holder.uid) + " now holds more than max_leases of rule "
                    + decision.allowing_rules.front()->label(),
                why + ": its owner now holds more leases than its rule's max_leases");
            continue;
        }
        const bool wants_verified = lease->client_requires_verified_wc || (charged != nullptr && charged->require_verified_wc);
        if (lease->request.access == Access::WriteCombine && wants_verified && lease->memtype != Memtype::WriteCombining) {
            end_lease(id, LeaseEnd::Revoked,
                why + ": " + (charged != nullptr && charged->require_verified_wc ? "rule " + charged->label() : "its client")
                    + " requires verified write-combining, and this lease is " + std::string(memtype_name(lease->memtype)));
            continue;
        }
        if (charged != nullptr && charged->require_kernel_enforced_range
            && lease->range_enforcement != RangeEnforcement::Kernel) {
            end_lease(id, LeaseEnd::Revoked, why + ": rule " + charged->label() + " requires a kernel-enforced range");
            continue;
        }
        lease->rule = charged != nullptr ? charged->name : "";
        lease->rule_label = charged != nullptr ? charged->label() : "";
        lease->audit_only = !decision.allowed;
        lease->policy_generation = store_.generation();
        ++held[{lease->rule, lease->holder.uid}];
        if (observer_ != nullptr)
            observer_->lease_redecided(*lease);
    }
}

Expected<std::vector<const DeviceRecord*>> Broker::list_devices(const Caller& caller) const
{
    if (const Verdict verdict = authorize(caller, action::ListDevices{}); !verdict.allowed)
        return denied(verdict.reason);
    return registry_ != nullptr ? registry_->devices() : std::vector<const DeviceRecord*>{};
}

Expected<std::vector<const Lease*>> Broker::list_leases(const Caller& caller) const
{
    if (const Verdict verdict = authorize(caller, action::ListLeases{}); !verdict.allowed)
        return denied(verdict.reason);
    return leases_.all();
}

void Broker::device_added(const DeviceRecord& record)
{
    // At bind (and at cold-plug), before a VFIO user of the device can open it.
    update_bar_claims(record.facts);
    if (observer_ != nullptr)
        observer_->device_added(record);
}

void Broker::device_changed(const DeviceRecord& record)
{
    recheck_leases(leases_.on_device(record.facts.address), "the device's facts changed, and the policy");
    update_bar_claims(record.facts);
}

void Broker::end_leases_on_claimed_bars()
{
    if (registry_ == nullptr)
        return;
    // The module keeps drivers off an alias's BAR, and revokes the alias
    // itself on unbind or removal (udev tells us then): only sysfs leases
    // are watched, and without one /proc/iomem is not read at all.
    std::vector<const Lease*> watched = leases_.all();
    std::erase_if(watched, [](const Lease* lease) { return lease->alias_id != 0; });
    if (watched.empty())
        return;
    const std::vector<IomemEntry> claims = mapper_.read_iomem();
    // Decided first, ended after: ending a lease changes the table.
    std::vector<std::pair<std::uint64_t, std::string>> claimed;
    for (const Lease* lease : watched) {
        const DeviceRecord* record = registry_->find(lease->address);
        const BarFacts* bar = record != nullptr ? record->facts.bar(lease->request.bar) : nullptr;
        if (bar == nullptr)
            continue; // device_removed() ends these
        if (auto holder = bar_claimant(claims, lease->address, bar->start, bar->size); holder && !is_wcalias_claim(*holder)) {
            claimed.emplace_back(lease->id, "BAR " + std::to_string(bar->index) + " was claimed by " + *holder + " ("
                    + describe_claimant(*holder) + "); the kernel revoked the mapping");
        }
    }
    for (const auto& [id, reason] : claimed)
        end_lease(id, LeaseEnd::Revoked, reason);
}

void Broker::device_removed(const DeviceFacts& last_known, const std::string& reason)
{
    // The module revoked the device's aliases and dropped its claims
    // itself on unbind or removal; revoking again finds nothing (ENOENT).
    bar_claims_.forget(last_known.address);
    for (std::uint64_t id : leases_.on_device(last_known.address))
        end_lease(id, LeaseEnd::Revoked, reason);
    if (observer_ != nullptr)
        observer_->device_removed(last_known, reason);
}

} // namespace wcbroker
