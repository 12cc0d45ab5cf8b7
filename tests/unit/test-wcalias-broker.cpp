// The broker with the wcalias module, through a fake /dev/wcalias: BAR
// claims at bind and after a reload (bars_to_claim), the alias revoked on
// every way a lease ends, restored leases checked with WCALIAS_IOC_QUERY,
// and the module's own /proc/iomem claim taken as wcbrokerd's.

#include "bar-claims.hpp"
#include "broker.hpp"
#include "fake-wcalias.hpp"
#include "policy-loader.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* device_address = "0000:00:03.0";

class RecordingAudit final : public AuditLog {
public:
    void record(const AuditRecord& record) override { records.push_back(record); }
    std::size_t count(AuditKind kind) const
    {
        return static_cast<std::size_t>(
            std::count_if(records.begin(), records.end(), [&](const AuditRecord& r) { return r.kind == kind; }));
    }
    std::vector<AuditRecord> records;
};

// ivshmem-like: BAR0 4 KiB registers, BAR2 1 MiB prefetchable, BAR4 64 KiB prefetchable.
DeviceFacts ivshmem_facts()
{
    DeviceFacts facts;
    facts.address = device_address;
    facts.vendor_id = 0x1af4;
    facts.device_id = 0x1110;
    facts.driver = "vfio-pci";
    BarFacts bar0{0, 0xfe000000, 0x1000, 0, BarKind::Memory32, false, true, false};
    BarFacts bar2{2, 0xfd000000, 0x100000, 0, BarKind::Memory64, true, true, true};
    BarFacts bar4{4, 0xfc000000, 0x10000, 0, BarKind::Memory64, true, true, true};
    facts.bars = {bar0, bar2, bar4};
    return facts;
}

const char* const policy_wc_bar2_and_4 = R"(version = 1
[selector.ivshmem]
vendor = 0x1af4
device = 0x1110

[[rule]]
name = "wc2"
devices = ["ivshmem"]
bar = 2
ranges = "all"
access = "write-combine"
users = [1000]

[[rule]]
name = "wc4"
devices = ["ivshmem"]
bar = 4
ranges = "all"
access = "write-combine"
users = [1001]

[[rule]]
name = "regs"
devices = ["ivshmem"]
bar = 0
ranges = "all"
access = "uncached"
users = [1000]
)";

const char* const policy_wc_bar2_only = R"(version = 1
[selector.ivshmem]
vendor = 0x1af4
device = 0x1110

[[rule]]
name = "wc2"
devices = ["ivshmem"]
bar = 2
ranges = "all"
access = "write-combine"
users = [1000]
)";

const char* const policy_other_device = R"(version = 1
[selector.other]
vendor = 0x8086

[[rule]]
name = "wc2"
devices = ["other"]
bar = 2
ranges = "all"
access = "write-combine"
users = [1000]
)";

class WcaliasBrokerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        root_ = fs::temp_directory_path() / ("wcalias-broker-" + std::to_string(::getpid()) + "-"
                   + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_ / "policy");
        fs::create_directories(root_ / "proc");
        write_policy(policy_wc_bar2_and_4);
        BrokerConfig config;
        config.paths = KernelPaths(root_.string());
        config.policy_sources = policy_sources_in((root_ / "policy").string());
        config.load_options.unknown_names_are_errors = false;
        broker_ = std::make_unique<Broker>(config, audit_);
        control_ = fake_wcalias_control(state_);
        broker_->set_wcalias(control_.get());
        broker_->attach(registry_);
        ASSERT_TRUE(broker_->load_initial_policy().applied);
    }
    void TearDown() override
    {
        broker_.reset();
        fs::remove_all(root_);
    }
    void write_policy(const std::string& text) { std::ofstream(root_ / "policy" / "policy.toml") << text; }
    void bind()
    {
        const RegistryChange change = registry_.apply(device_address, {SysfsReadStatus::Ok, ivshmem_facts(), ""});
        ASSERT_EQ(change.kind, RegistryChangeKind::Added);
        broker_->device_added(*registry_.find(device_address));
    }
    void unbind()
    {
        const RegistryChange change = registry_.apply(device_address, {SysfsReadStatus::Gone, {}, ""});
        ASSERT_EQ(change.kind, RegistryChangeKind::Removed);
        broker_->device_removed(change.facts, "unbound from vfio-pci");
    }
    static Caller caller(uid_t uid, const std::string& bus_name = ":1.10")
    {
        Caller c;
        c.bus_name = bus_name;
        c.identity.uid = uid;
        c.identity.gids = {uid};
        c.identity.pid = 4242;
        return c;
    }
    Expected<AcquireGrant> acquire(uid_t uid, std::uint32_t bar, std::uint64_t offset, const std::string& bus_name = ":1.10",
        bool require_kernel = false)
    {
        AcquireArguments arguments;
        arguments.device = device_address;
        arguments.bar = bar;
        arguments.offset = offset;
        arguments.length = 0x1000;
        arguments.access = bar == 0 ? "uncached" : "write-combine";
        arguments.require_kernel_enforced_range = require_kernel;
        return broker_->acquire(caller(uid, bus_name), arguments);
    }
    std::vector<std::string> calls_starting(const std::string& prefix) const
    {
        std::vector<std::string> found;
        for (const std::string& call : state_->calls) {
            if (call.starts_with(prefix))
                found.push_back(call);
        }
        return found;
    }

    fs::path root_;
    RecordingAudit audit_;
    DeviceRegistry registry_;
    std::shared_ptr<FakeWcaliasState> state_ = std::make_shared<FakeWcaliasState>();
    std::unique_ptr<WcaliasControl> control_;
    std::unique_ptr<Broker> broker_;
};

TEST(BarsToClaim, EveryMemoryBarSomeMatchingRuleGrantsWriteCombiningOn)
{
    auto load = [](const char* text) {
        LoadOptions options;
        options.unknown_names_are_errors = false;
        return load_policy_from_texts({{"policy.toml", text}}, options);
    };
    const LoadResult both = load(policy_wc_bar2_and_4);
    ASSERT_NE(both.policy, nullptr);
    // BAR0 is granted only uncached: a VFIO user of the device keeps it.
    EXPECT_EQ(bars_to_claim(*both.policy, ivshmem_facts()), (std::vector<std::uint32_t>{2, 4}));
    const LoadResult one = load(policy_wc_bar2_only);
    EXPECT_EQ(bars_to_claim(*one.policy, ivshmem_facts()), (std::vector<std::uint32_t>{2}));
    // Rules for other devices claim nothing here.
    const LoadResult other = load(policy_other_device);
    EXPECT_TRUE(bars_to_claim(*other.policy, ivshmem_facts()).empty());
    // A rule for a BAR the device does not have claims nothing.
    DeviceFacts small = ivshmem_facts();
    small.bars.resize(1);
    EXPECT_TRUE(bars_to_claim(*both.policy, small).empty());
}

TEST_F(WcaliasBrokerTest, BarsAreClaimedAtBindAndLetGoAfterAReload)
{
    bind();
    EXPECT_EQ(calls_starting("claim"), (std::vector<std::string>{"claim 0000:00:03.0/2", "claim 0000:00:03.0/4"}));
    EXPECT_TRUE(broker_->bar_claims().held(device_address, 2));
    EXPECT_TRUE(broker_->bar_claims().held(device_address, 4));

    write_policy(policy_wc_bar2_only);
    ASSERT_TRUE(broker_->reload_requested_by_signal().applied);
    // BAR0 at the bind (a predecessor's claim, if any, goes), BAR4 now.
    EXPECT_EQ(calls_starting("unclaim"), (std::vector<std::string>{"unclaim 0000:00:03.0/0", "unclaim 0000:00:03.0/4"}));
    EXPECT_FALSE(broker_->bar_claims().held(device_address, 4));
    EXPECT_TRUE(broker_->bar_claims().held(device_address, 2));
    // Claiming again is not asked for a BAR already held.
    EXPECT_EQ(calls_starting("claim").size(), 2u);
}

TEST_F(WcaliasBrokerTest, AClaimAVfioUserBeatUsToIsAuditedOnceNotFatal)
{
    state_->claim_error = EBUSY;
    state_->claim_why = WCALIAS_WHY_BAR_BUSY;
    bind();
    EXPECT_EQ(audit_.count(AuditKind::BarClaimFailed), 2u);
    const AuditRecord* record = nullptr;
    for (const AuditRecord& r : audit_.records) {
        if (r.kind == AuditKind::BarClaimFailed)
            record = &r;
    }
    ASSERT_NE(record, nullptr);
    EXPECT_NE(record->message.find("WCALIAS_WHY_BAR_BUSY"), std::string::npos) << record->message;
    // A reload retries, without a second record for the same BAR.
    ASSERT_TRUE(broker_->reload_requested_by_signal().applied);
    EXPECT_EQ(audit_.count(AuditKind::BarClaimFailed), 2u);
    EXPECT_EQ(calls_starting("claim").size(), 4u);
    // The device is still served.
    state_->claim_error = 0;
    auto grant = acquire(1000, 2, 0);
    EXPECT_TRUE(grant) << grant.error().message;
}

TEST_F(WcaliasBrokerTest, NoClaimsWhenTheModuleIsUnusable)
{
    auto absent = absent_wcalias_control();
    broker_->set_wcalias(absent.get());
    bind();
    EXPECT_TRUE(state_->calls.empty());
    auto grant = acquire(1000, 2, 0, ":1.10", true);
    ASSERT_FALSE(grant);
    EXPECT_EQ(grant.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(grant.error().message.find("the wcalias module is not loaded"), std::string::npos) << grant.error().message;
    broker_->set_wcalias(nullptr);
}

TEST_F(WcaliasBrokerTest, ALeaseIsAnAliasWithItsIdAndKernelEnforcement)
{
    bind();
    auto grant = acquire(1000, 2, 0x2000, ":1.10", true);
    ASSERT_TRUE(grant) << grant.error().message;
    const Lease& lease = *grant->lease;
    EXPECT_EQ(lease.mechanism, "wcalias");
    EXPECT_EQ(lease.range_enforcement, RangeEnforcement::Kernel);
    EXPECT_EQ(lease.alias_id, 100u);
    EXPECT_EQ(lease.memtype, Memtype::WriteCombining);
    // The alias starts at the range's first byte.
    EXPECT_EQ(grant->mmap_offset, 0u);
    EXPECT_TRUE(state_->live.contains(100));
}

TEST_F(WcaliasBrokerTest, EveryLeaseEndRevokesTheAlias)
{
    bind();
    // Released by its owner.
    auto released = acquire(1000, 2, 0);
    ASSERT_TRUE(released) << released.error().message;
    ASSERT_TRUE(broker_->release(caller(1000), released->lease->id));
    EXPECT_FALSE(state_->live.contains(100));
    // Released by root.
    auto by_root = acquire(1000, 2, 0x1000);
    ASSERT_TRUE(by_root);
    ASSERT_TRUE(broker_->release(caller(0, ":1.99"), by_root->lease->id));
    EXPECT_FALSE(state_->live.contains(101));
    // Its owner left the bus.
    auto gone = acquire(1000, 2, 0x2000, ":1.11");
    ASSERT_TRUE(gone);
    broker_->client_gone(":1.11");
    EXPECT_FALSE(state_->live.contains(102));
    // A reload that no longer grants it (BAR4's rule goes).
    auto reloaded = acquire(1001, 4, 0);
    ASSERT_TRUE(reloaded) << reloaded.error().message;
    write_policy(policy_wc_bar2_only);
    ASSERT_TRUE(broker_->reload_requested_by_signal().applied);
    EXPECT_FALSE(state_->live.contains(103));
    // The alias is revoked first, then the claim no rule needs is let go
    // (BAR0: the bind's check for a predecessor's claim).
    EXPECT_EQ(calls_starting("unclaim"), (std::vector<std::string>{"unclaim 0000:00:03.0/0", "unclaim 0000:00:03.0/4"}));
    // Unbind: the kernel revoked it already; ENOENT is fine.
    auto unbound = acquire(1000, 2, 0x3000);
    ASSERT_TRUE(unbound);
    state_->kernel_revokes(104, WCALIAS_REVOKED_UNBIND);
    unbind();
    EXPECT_EQ(broker_->leases().size(), 0u);
    EXPECT_EQ(calls_starting("revoke"),
        (std::vector<std::string>{"revoke 100", "revoke 101", "revoke 102", "revoke 103", "revoke 104"}));
    EXPECT_FALSE(broker_->bar_claims().held(device_address, 2));
}

TEST_F(WcaliasBrokerTest, APredecessorsClaimsAreLetGoAndADroppedClaimIsForgotten)
{
    bind();
    // The first update of a device lets go of the BARs the policy does not
    // want, which a predecessor (its control fd from the fd store) may hold.
    EXPECT_EQ(calls_starting("unclaim"), (std::vector<std::string>{"unclaim 0000:00:03.0/0"}));
    EXPECT_TRUE(broker_->bar_claims().held(device_address, 4));
    // The rule that needs BAR4 goes, and the module says it holds no claim
    // there any more (ENOENT: it dropped it already): forgotten all the same.
    state_->unclaim_error = ENOENT;
    write_policy(policy_wc_bar2_only);
    ASSERT_TRUE(broker_->reload_requested_by_signal().applied);
    EXPECT_FALSE(broker_->bar_claims().held(device_address, 4));
}

TEST_F(WcaliasBrokerTest, TheClaimWatchLeavesAliasesAndTheModulesClaimAlone)
{
    bind();
    auto grant = acquire(1000, 2, 0);
    ASSERT_TRUE(grant);
    std::ofstream(root_ / "proc" / "iomem") << "fd000000-fd0fffff : 0000:00:03.0\n  fd000000-fd0fffff : wcalias\n";
    broker_->end_leases_on_claimed_bars();
    EXPECT_EQ(broker_->leases().size(), 1u);
    // Even vfio-pci's claim: the module would have refused it, and revokes on unbind itself.
    std::ofstream(root_ / "proc" / "iomem") << "fd000000-fd0fffff : 0000:00:03.0\n  fd000000-fd0fffff : vfio-pci\n";
    broker_->end_leases_on_claimed_bars();
    EXPECT_EQ(broker_->leases().size(), 1u);
}

TEST_F(WcaliasBrokerTest, RestoreKeepsLiveOwnAliasesAndRevokesTheRest)
{
    bind();
    // Five leases a previous run granted, their alias fds from the fd store.
    std::vector<LeaseToRestore> leases;
    std::vector<std::uint64_t> ids;
    for (std::uint64_t offset : {0x0, 0x1000, 0x2000, 0x3000, 0x4000}) {
        auto alias = control_->create(device_address, 2, offset, 0x1000, Access::WriteCombine);
        ASSERT_TRUE(alias) << alias.error().message;
        LeaseToRestore item;
        item.lease.id = 10 + offset / 0x1000;
        item.lease.owner = ":1.10";
        item.lease.holder = caller(1000).identity;
        item.lease.address = device_address;
        item.lease.request = {2, offset, 0x1000, Access::WriteCombine};
        item.lease.memtype = Memtype::WriteCombining;
        item.lease.mechanism = "wcalias";
        item.lease.range_enforcement = RangeEnforcement::Kernel;
        item.lease.alias_id = alias->id;
        item.fd = std::move(alias->fd);
        item.fd_from_store = true;
        ids.push_back(alias->id);
        leases.push_back(std::move(item));
    }
    state_->kernel_revokes(ids[1], WCALIAS_REVOKED_UNBIND); // revoked while the daemon was down
    state_->not_own.insert(ids[2]);                         // another context's
    leases[3].fd.reset();                                  // not in the store
    leases[4].lease.request.offset = 0x8000;               // a record that names another range
    state_->calls.clear();
    broker_->restore_leases(std::move(leases));
    ASSERT_EQ(broker_->leases().size(), 1u);
    EXPECT_NE(broker_->leases().find(10), nullptr);
    EXPECT_EQ(audit_.count(AuditKind::LeaseRecovered), 1u);
    EXPECT_EQ(audit_.count(AuditKind::LeaseRevoked), 4u);
    std::vector<std::string> reasons;
    for (const AuditRecord& r : audit_.records) {
        if (r.kind == AuditKind::LeaseRevoked)
            reasons.push_back(r.message);
    }
    ASSERT_EQ(reasons.size(), 4u);
    EXPECT_NE(reasons[0].find("revoked by the kernel: the device's driver unbound"), std::string::npos) << reasons[0];
    EXPECT_NE(reasons[1].find("control context this daemon does not hold"), std::string::npos) << reasons[1];
    EXPECT_NE(reasons[2].find("not in the service manager's fd store"), std::string::npos) << reasons[2];
    EXPECT_NE(reasons[3].find("not the record's range"), std::string::npos) << reasons[3];
    // Each revoked lease's alias is revoked too (ENOENT where it was gone already).
    EXPECT_EQ(calls_starting("revoke"),
        (std::vector<std::string>{"revoke " + std::to_string(ids[1]), "revoke " + std::to_string(ids[2]),
            "revoke " + std::to_string(ids[3]), "revoke " + std::to_string(ids[4])}));
    EXPECT_TRUE(state_->live.contains(ids[0]));
}

} // namespace
} // namespace wcbroker::test
