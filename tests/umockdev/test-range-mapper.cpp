// Mechanisms on a fake sysfs: real fds from resourceN[_wc] files, mapped and
// read; refusals for every reason the kernel or the device gives.

#include "device-tracker.hpp"
#include "fake-pci.hpp"
#include "fake-wcalias.hpp"
#include "range-mapper.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

namespace wcbroker::test {
namespace {

class NullListener final : public DeviceListener {
    void device_added(const DeviceRecord&) override {}
    void device_changed(const DeviceRecord&) override {}
    void device_removed(const DeviceFacts&, const std::string&) override {}
};

class RangeMapperTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        pci_.add(ivshmem("0000:00:03.0", 3));
        pci_.add(edu("0000:00:04.0", 4));
        tracker_.start(UdevSource::Kernel);
        ASSERT_EQ(tracker_.registry().size(), 2u);
    }
    const DeviceRecord& record(const std::string& address) { return *tracker_.registry().find(address); }
    // As the broker does: the shape of the request first, then the mapping.
    Expected<MappedRange> map(const std::string& address, AccessRequest request, bool kernel_enforced = false)
    {
        if (auto invalid = mapper_.check_range(record(address).facts, request))
            return *invalid;
        return mapper_.map(record(address).facts, record(address).generation, request, kernel_enforced);
    }

    FakePci pci_;
    EventLoop loop_;
    NullListener listener_;
    DeviceTracker tracker_{loop_, KernelPaths(pci_.root()), listener_};
    RangeMapper mapper_{KernelPaths(pci_.root())};
};

TEST_F(RangeMapperTest, WriteCombineFdMapsTheBarBytes)
{
    pci_.fill_bar("0000:00:03.0", 2, std::string(8192, '\0') + "wcbroker");
    pci_.set_pat_memtype_list(pci_.pat_line("0000:00:03.0", 2, 0x2000, 0x1000, "write-combining"));
    auto mapped = map("0000:00:03.0", {2, 0x2000, 0x1000, Access::WriteCombine});
    ASSERT_TRUE(mapped) << mapped.error().message;
    EXPECT_EQ(mapped->mechanism->name(), "sysfs-wc");
    EXPECT_EQ(mapped->mechanism->range_enforcement(), RangeEnforcement::Advisory);
    EXPECT_EQ(mapped->opened.mmap_offset, 0x2000u);
    EXPECT_EQ(mapped->verification.memtype, Memtype::WriteCombining);
    EXPECT_NE(mapped->verification.detail.find("shows write-combining"), std::string::npos);

    void* view = ::mmap(nullptr, 0x1000, PROT_READ, MAP_SHARED, mapped->opened.fd.get(),
        static_cast<off_t>(mapped->opened.mmap_offset));
    ASSERT_NE(view, MAP_FAILED);
    EXPECT_EQ(std::string(static_cast<const char*>(view), 8), "wcbroker");
    ::munmap(view, 0x1000);
}

TEST_F(RangeMapperTest, UncachedFdUsesTheResourceFile)
{
    pci_.set_pat_memtype_list(pci_.pat_line("0000:00:04.0", 0, 0, 0x1000, "uncached-minus"));
    auto mapped = map("0000:00:04.0", {0, 0, 0x1000, Access::Uncached});
    ASSERT_TRUE(mapped) << mapped.error().message;
    EXPECT_EQ(mapped->mechanism->name(), "sysfs-uc");
    EXPECT_EQ(mapped->verification.memtype, Memtype::UncachedMinus);
}

TEST_F(RangeMapperTest, WithoutThePatListTheLeaseIsUnverifiedNeverWriteCombining)
{
    auto mapped = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine});
    ASSERT_TRUE(mapped) << mapped.error().message;
    EXPECT_EQ(mapped->verification.memtype, Memtype::Unverified);
    EXPECT_NE(mapped->verification.detail.find("pat_memtype_list"), std::string::npos) << mapped->verification.detail;
}

TEST_F(RangeMapperTest, PatDowngradeIsReportedAsItIs)
{
    // Asked write-combining; an uncached reservation already covered it.
    pci_.set_pat_memtype_list(pci_.pat_line("0000:00:03.0", 2, 0, 0x100000, "uncached-minus"));
    auto mapped = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine});
    ASSERT_TRUE(mapped);
    EXPECT_EQ(mapped->verification.memtype, Memtype::UncachedMinus);
}

TEST_F(RangeMapperTest, VerificationIsCachedPerBarUntilTheDeviceChanges)
{
    pci_.set_pat_memtype_list(pci_.pat_line("0000:00:03.0", 2, 0, 0x100000, "write-combining"));
    auto first = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine});
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->verification_was_cached);
    pci_.set_pat_memtype_list("");
    auto second = map("0000:00:03.0", {2, 0x1000, 0x1000, Access::WriteCombine});
    ASSERT_TRUE(second);
    EXPECT_TRUE(second->verification_was_cached);
    EXPECT_EQ(second->verification.memtype, Memtype::WriteCombining);
    // A new generation (the device changed) verifies again.
    auto third = mapper_.map(record("0000:00:03.0").facts, record("0000:00:03.0").generation + 1,
        {2, 0, 0x1000, Access::WriteCombine}, false);
    ASSERT_TRUE(third);
    EXPECT_FALSE(third->verification_was_cached);
    EXPECT_EQ(third->verification.memtype, Memtype::Unverified);
}

TEST_F(RangeMapperTest, NonPrefetchableBarIsRefusedForWriteCombine)
{
    auto mapped = map("0000:00:04.0", {0, 0, 0x1000, Access::WriteCombine});
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::Unsupported);
    EXPECT_EQ(mapped.error().message,
        "BAR 0 of 0000:00:04.0 is not prefetchable, and the kernel maps only prefetchable memory BARs "
        "write-combining (there is no resource0_wc); ask for uncached access instead");
}

TEST_F(RangeMapperTest, IoBarIsRefused)
{
    auto mapped = map("0000:00:04.0", {1, 0, 0x1000, Access::Uncached});
    ASSERT_FALSE(mapped);
    // The 64-byte I/O BAR is too small for a page, and that is checked first.
    EXPECT_EQ(mapped.error().kind, ErrorKind::InvalidRange);
    auto choice = mapper_.choose(record("0000:00:04.0").facts, {1, 0, 0x1000, Access::Uncached}, false);
    ASSERT_FALSE(choice);
    EXPECT_EQ(choice.error().message,
        "BAR 1 of 0000:00:04.0 is an I/O port BAR, which cannot be memory-mapped; only memory BARs can be leased");
}

TEST_F(RangeMapperTest, PrefetchableBarWithoutWcFileMeansNoWcOnThisPlatform)
{
    FakeDevice device = ivshmem("0000:00:05.0", 5);
    device.bars[1].wc_file = false;
    pci_.add(device);
    tracker_.refresh("0000:00:05.0");
    auto mapped = map("0000:00:05.0", {2, 0, 0x1000, Access::WriteCombine});
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(mapped.error().message.find("has no resource2_wc"), std::string::npos);
}

TEST_F(RangeMapperTest, RangesOutsideTheBarOrUnalignedAreInvalid)
{
    for (const AccessRequest& request : {AccessRequest{2, 0x100000, 0x1000, Access::WriteCombine},
             AccessRequest{2, 0xff000, 0x2000, Access::WriteCombine}, AccessRequest{2, 0x800, 0x1000, Access::WriteCombine},
             AccessRequest{2, 0, 0x800, Access::WriteCombine}, AccessRequest{2, 0, 0, Access::WriteCombine},
             AccessRequest{2, 0xfffffffffffff000, 0x2000, Access::WriteCombine}, AccessRequest{4, 0, 0x1000, Access::WriteCombine}}) {
        auto mapped = map("0000:00:03.0", request);
        ASSERT_FALSE(mapped) << request.offset << "+" << request.length;
        EXPECT_EQ(mapped.error().kind, ErrorKind::InvalidRange) << mapped.error().message;
    }
    EXPECT_EQ(map("0000:00:03.0", {4, 0, 0x1000, Access::WriteCombine}).error().message,
        "0000:00:03.0 has no BAR 4; its BARs are 0, 2");
}

TEST_F(RangeMapperTest, BarClaimedByVfioIsBusy)
{
    pci_.claim_bar_for_vfio("0000:00:03.0", 2, 0x100000);
    auto mapped = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine});
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::Busy);
    EXPECT_NE(mapped.error().message.find("is claimed by vfio-pci"), std::string::npos) << mapped.error().message;
    // BAR 0 of the same device is not claimed.
    EXPECT_TRUE(map("0000:00:03.0", {0, 0, 0x1000, Access::Uncached}));
}

TEST_F(RangeMapperTest, KernelEnforcedRangeWithoutTheModuleIsUnsupported)
{
    auto mapped = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine}, true);
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(mapped.error().message.find("only the wcalias module gives"), std::string::npos) << mapped.error().message;
}

TEST_F(RangeMapperTest, KernelEnforcedRangeRefusalSaysWhyTheModuleIsUnusable)
{
    auto absent = absent_wcalias_control();
    mapper_.use_wcalias(absent.get());
    auto mapped = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine}, true);
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(mapped.error().message.find("the wcalias module is not loaded"), std::string::npos) << mapped.error().message;

    auto state = std::make_shared<FakeWcaliasState>();
    state->api_version = WCALIAS_API_VERSION + 1;
    auto mismatched = fake_wcalias_control(state);
    mapper_.use_wcalias(mismatched.get());
    mapped = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine}, true);
    ASSERT_FALSE(mapped);
    EXPECT_NE(mapped.error().message.find("speaks API version " + std::to_string(WCALIAS_API_VERSION + 1)),
        std::string::npos) << mapped.error().message;
    mapper_.use_wcalias(nullptr);
}

TEST_F(RangeMapperTest, WcaliasIsPreferredWheneverUsableForWriteCombineAndUncached)
{
    auto state = std::make_shared<FakeWcaliasState>();
    auto control = fake_wcalias_control(state);
    mapper_.use_wcalias(control.get());
    auto wc = map("0000:00:03.0", {2, 0x2000, 0x1000, Access::WriteCombine});
    ASSERT_TRUE(wc) << wc.error().message;
    EXPECT_EQ(wc->mechanism->name(), "wcalias");
    EXPECT_EQ(wc->mechanism->range_enforcement(), RangeEnforcement::Kernel);
    EXPECT_EQ(wc->opened.mmap_offset, 0u);
    EXPECT_EQ(wc->opened.length, 0x1000u);
    EXPECT_EQ(wc->opened.alias_id, 100u);
    EXPECT_EQ(wc->verification.memtype, Memtype::WriteCombining);
    EXPECT_NE(wc->verification.detail.find("wcalias module read write-combining back"), std::string::npos);
    // An uncached alias of another part of the same BAR, side by side.
    auto uc = map("0000:00:03.0", {2, 0x4000, 0x1000, Access::Uncached});
    ASSERT_TRUE(uc) << uc.error().message;
    EXPECT_EQ(uc->mechanism->name(), "wcalias");
    EXPECT_EQ(uc->verification.memtype, Memtype::UncachedMinus);
    EXPECT_EQ(state->calls, (std::vector<std::string>{"create 0000:00:03.0/2 8192+4096 wc", "create 0000:00:03.0/2 16384+4096 uc"}));
    // Required kernel enforcement is served by the module.
    auto enforced = map("0000:00:03.0", {2, 0x8000, 0x1000, Access::WriteCombine}, true);
    ASSERT_TRUE(enforced) << enforced.error().message;
    EXPECT_EQ(enforced->mechanism->name(), "wcalias");
    mapper_.use_wcalias(nullptr);
}

TEST_F(RangeMapperTest, WithoutTheModuleSysfsServesAsBefore)
{
    auto absent = absent_wcalias_control();
    mapper_.use_wcalias(absent.get());
    auto mapped = map("0000:00:03.0", {2, 0x2000, 0x1000, Access::WriteCombine});
    ASSERT_TRUE(mapped) << mapped.error().message;
    EXPECT_EQ(mapped->mechanism->name(), "sysfs-wc");
    EXPECT_EQ(mapped->mechanism->range_enforcement(), RangeEnforcement::Advisory);
    EXPECT_EQ(mapped->opened.alias_id, 0u);
    mapper_.use_wcalias(nullptr);
}

TEST_F(RangeMapperTest, WcaliasRefusalsNameTheModulesReason)
{
    auto state = std::make_shared<FakeWcaliasState>();
    state->create_error = EBUSY;
    state->create_why = WCALIAS_WHY_BAR_BUSY;
    auto control = fake_wcalias_control(state);
    mapper_.use_wcalias(control.get());
    auto mapped = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine});
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::Busy);
    EXPECT_NE(mapped.error().message.find("WCALIAS_WHY_BAR_BUSY"), std::string::npos) << mapped.error().message;
    EXPECT_NE(mapped.error().message.find("retry after it closes the device"), std::string::npos);

    state->create_error = EBUSY;
    state->create_why = WCALIAS_WHY_DOWNGRADED;
    mapped = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine});
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(mapped.error().message.find("WCALIAS_WHY_DOWNGRADED"), std::string::npos) << mapped.error().message;
    mapper_.use_wcalias(nullptr);
}

TEST_F(RangeMapperTest, WcaliasWithoutPatServesOnlyUncachedAndSaysWhy)
{
    auto state = std::make_shared<FakeWcaliasState>();
    state->flags = WCALIAS_VERSION_VERIFIES;
    auto control = fake_wcalias_control(state);
    mapper_.use_wcalias(control.get());
    auto enforced = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine}, true);
    ASSERT_FALSE(enforced);
    EXPECT_NE(enforced.error().message.find("PAT is disabled"), std::string::npos) << enforced.error().message;
    auto uc = map("0000:00:03.0", {2, 0, 0x1000, Access::Uncached}, true);
    ASSERT_TRUE(uc) << uc.error().message;
    EXPECT_EQ(uc->mechanism->name(), "wcalias");
    mapper_.use_wcalias(nullptr);
}

TEST_F(RangeMapperTest, TheModulesOwnClaimIsNotAnotherDriversClaim)
{
    const std::uint64_t start = pci_.bar_start("0000:00:03.0", 2);
    char iomem[256];
    std::snprintf(iomem, sizeof iomem, "%08llx-%08llx : 0000:00:03.0\n  %08llx-%08llx : wcalias\n",
        static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + 0xfffff),
        static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + 0xfffff));
    pci_.set_iomem(iomem);
    ASSERT_EQ(mapper_.claimant(record("0000:00:03.0").facts, *record("0000:00:03.0").facts.bar(2)), "wcalias");
    EXPECT_TRUE(is_wcalias_claim("wcalias"));
    EXPECT_FALSE(is_wcalias_claim("vfio-pci"));
    auto mapped = map("0000:00:03.0", {2, 0, 0x1000, Access::WriteCombine});
    EXPECT_TRUE(mapped) << mapped.error().message;
}

TEST_F(RangeMapperTest, DeviceGoneBetweenLookupAndOpen)
{
    const DeviceRecord snapshot = record("0000:00:03.0");
    pci_.delete_attribute("0000:00:03.0", "resource2_wc");
    auto mapped = mapper_.map(snapshot.facts, snapshot.generation, {2, 0, 0x1000, Access::WriteCombine}, false);
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::NoSuchDevice);
}

TEST_F(RangeMapperTest, DriverSwappedBetweenDecisionAndOpenHandsOutNothing)
{
    const DeviceRecord snapshot = record("0000:00:03.0");
    pci_.rebind("0000:00:03.0", "ivshmem", /*send_events=*/false);
    auto mapped = mapper_.map(snapshot.facts, snapshot.generation, {2, 0, 0x1000, Access::WriteCombine}, false);
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::NoSuchDevice);
    EXPECT_NE(mapped.error().message.find("it is 1af4:1110 on ivshmem"), std::string::npos) << mapped.error().message;
}

TEST_F(RangeMapperTest, DeviceRecreatedAsAnotherBetweenDecisionAndOpenHandsOutNothing)
{
    const DeviceRecord snapshot = record("0000:00:03.0");
    pci_.remove("0000:00:03.0");
    FakeDevice other = ivshmem("0000:00:03.0", 9);
    other.vendor = 0x8086;
    other.device = 0x154c; // an X710 VF, say
    pci_.add(other);
    auto mapped = mapper_.map(snapshot.facts, snapshot.generation, {2, 0, 0x1000, Access::WriteCombine}, false);
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::NoSuchDevice);
    EXPECT_NE(mapped.error().message.find("it was 1af4:1110 on vfio-pci, it is 8086:154c on vfio-pci"),
        std::string::npos)
        << mapped.error().message;
}

TEST_F(RangeMapperTest, UnboundBetweenDecisionAndOpenHandsOutNothing)
{
    const DeviceRecord snapshot = record("0000:00:04.0");
    pci_.rebind("0000:00:04.0", "", /*send_events=*/false);
    auto mapped = mapper_.map(snapshot.facts, snapshot.generation, {0, 0, 0x1000, Access::Uncached}, false);
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().kind, ErrorKind::NoSuchDevice);
    EXPECT_NE(mapped.error().message.find("on no driver"), std::string::npos) << mapped.error().message;
}

} // namespace
} // namespace wcbroker::test
