// The wcalias control glue on its own: why the module is unusable, the
// words for each of its reasons, the BAR naming, revocation and queries
// against a fake /dev/wcalias, and what KernelCapabilities says.

#include "fake-wcalias.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

namespace fs = std::filesystem;

class ScratchRoot {
public:
    ScratchRoot()
        : path_(fs::temp_directory_path() / ("wcalias-control-" + std::to_string(::getpid()) + "-"
                    + ::testing::UnitTest::GetInstance()->current_test_info()->name()))
    {
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~ScratchRoot() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }
    void write(const fs::path& relative, const std::string& text) const
    {
        fs::create_directories((path_ / relative).parent_path());
        std::ofstream(path_ / relative) << text;
    }

private:
    fs::path path_;
};

TEST(WcaliasControl, WithoutTheModuleItSaysItIsNotLoaded)
{
    ScratchRoot root;
    auto control = WcaliasControl::open(KernelPaths(root.path().string()));
    EXPECT_FALSE(control->usable());
    EXPECT_FALSE(control->status().loaded);
    EXPECT_NE(control->why_unusable().find("the wcalias module is not loaded"), std::string::npos) << control->why_unusable();
    auto refused = control->create("0000:00:03.0", 2, 0, 4096, Access::WriteCombine);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, ErrorKind::Unsupported);
}

TEST(WcaliasControl, LoadedWithoutItsDeviceNodeSaysSo)
{
    ScratchRoot root;
    root.write("sys/module/wcalias/version", "0.3\n");
    auto control = WcaliasControl::open(KernelPaths(root.path().string()));
    EXPECT_FALSE(control->usable());
    EXPECT_TRUE(control->status().loaded);
    EXPECT_EQ(control->status().module_version, "0.3");
    EXPECT_NE(control->why_unusable().find("is loaded but"), std::string::npos) << control->why_unusable();
}

TEST(WcaliasControl, ANodeThatDoesNotAnswerTheVersionIsUnusable)
{
    ScratchRoot root;
    root.write("dev/wcalias", ""); // a plain file: ENOTTY
    auto control = WcaliasControl::open(KernelPaths(root.path().string()));
    EXPECT_FALSE(control->usable());
    EXPECT_NE(control->why_unusable().find("does not answer WCALIAS_IOC_VERSION"), std::string::npos)
        << control->why_unusable();
}

TEST(WcaliasControl, AnotherApiVersionIsUnusableAndSaysWhich)
{
    auto state = std::make_shared<FakeWcaliasState>();
    state->api_version = 7;
    auto control = fake_wcalias_control(state);
    EXPECT_FALSE(control->usable());
    EXPECT_EQ(control->status().api_version, 7u);
    EXPECT_NE(control->why_unusable().find("API version 7"), std::string::npos) << control->why_unusable();
}

TEST(WcaliasControl, BarsAreNamedAsTheModuleNamesThem)
{
    auto bar = wcalias_bar_of("0001:3b:1f.7", 4);
    ASSERT_TRUE(bar);
    EXPECT_EQ(bar->domain, 1u);
    EXPECT_EQ(bar->bus, 0x3b);
    EXPECT_EQ(bar->devfn, (0x1f << 3) | 7);
    EXPECT_EQ(bar->bar, 4);
    EXPECT_FALSE(wcalias_bar_of("3b:00.0", 0));
    EXPECT_FALSE(wcalias_bar_of("0000:3b:00.0", 6));
    EXPECT_FALSE(wcalias_bar_of("0000:3b:20.0", 0));
}

TEST(WcaliasControl, RefusalsNameTheReasonAndTheKind)
{
    auto state = std::make_shared<FakeWcaliasState>();
    auto control = fake_wcalias_control(state);
    const std::pair<std::uint32_t, ErrorKind> cases[] = {
        {WCALIAS_WHY_NO_VFIO_DRIVER, ErrorKind::NoSuchDevice},
        {WCALIAS_WHY_BAD_RANGE, ErrorKind::InvalidRange},
        {WCALIAS_WHY_BAR_BUSY, ErrorKind::Busy},
        {WCALIAS_WHY_OTHER_CONTEXT, ErrorKind::Busy},
        {WCALIAS_WHY_TYPE_CONFLICT, ErrorKind::Busy},
        {WCALIAS_WHY_DOWNGRADED, ErrorKind::Unsupported},
        {WCALIAS_WHY_NO_PAT, ErrorKind::Unsupported},
        {WCALIAS_WHY_LIMIT, ErrorKind::LimitExceeded},
        {WCALIAS_WHY_LOCKDOWN, ErrorKind::Unsupported},
    };
    for (const auto& [why, kind] : cases) {
        state->create_error = EBUSY;
        state->create_why = why;
        auto refused = control->create("0000:00:03.0", 2, 0, 4096, Access::WriteCombine);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().kind, kind) << why;
        const std::string name = wcalias_why_text(why).substr(0, wcalias_why_text(why).find(':'));
        EXPECT_NE(refused.error().message.find(name), std::string::npos) << refused.error().message;
    }
}

TEST(WcaliasControl, RevokingWhatTheKernelRevokedIsNoError)
{
    auto state = std::make_shared<FakeWcaliasState>();
    auto control = fake_wcalias_control(state);
    auto alias = control->create("0000:00:03.0", 2, 0, 4096, Access::Uncached);
    ASSERT_TRUE(alias) << alias.error().message;
    EXPECT_EQ(alias->verification.memtype, Memtype::UncachedMinus);
    auto first = control->revoke(alias->id);
    ASSERT_TRUE(first);
    EXPECT_TRUE(*first);
    auto again = control->revoke(alias->id);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(*again);
}

TEST(WcaliasControl, AnUnverifiedTypeIsReportedAsSuchNeverAsWriteCombining)
{
    auto state = std::make_shared<FakeWcaliasState>();
    state->effective = WCALIAS_MEMTYPE_UNVERIFIED;
    auto control = fake_wcalias_control(state);
    auto alias = control->create("0000:00:03.0", 2, 0, 4096, Access::WriteCombine);
    ASSERT_TRUE(alias);
    EXPECT_EQ(alias->verification.memtype, Memtype::Unverified);
    // A module answering with the other type hands nothing out.
    state->effective = WCALIAS_MEMTYPE_UC_MINUS;
    auto wrong = control->create("0000:00:03.0", 2, 0x1000, 4096, Access::WriteCombine);
    ASSERT_FALSE(wrong);
    EXPECT_FALSE(state->live.contains(state->next_id - 1));
}

TEST(WcaliasControl, QuerySaysWhetherAnAliasIsLiveAndWhose)
{
    auto state = std::make_shared<FakeWcaliasState>();
    auto control = fake_wcalias_control(state);
    auto alias = control->create("0000:00:03.0", 2, 0, 4096, Access::WriteCombine);
    ASSERT_TRUE(alias);
    auto live = control->query(alias->fd.get());
    ASSERT_TRUE(live) << live.error().message;
    EXPECT_TRUE(live->live);
    EXPECT_TRUE(live->own);
    EXPECT_EQ(live->id, alias->id);
    state->kernel_revokes(alias->id, WCALIAS_REVOKED_REMOVAL);
    auto removed = control->query(alias->fd.get());
    ASSERT_TRUE(removed);
    EXPECT_FALSE(removed->live);
    EXPECT_EQ(removed->revoked_because, "the device was removed");
    UniqueFd other(::memfd_create("not-an-alias", MFD_CLOEXEC));
    EXPECT_FALSE(control->query(other.get()));
}

TEST(WcaliasControl, KernelCapabilitiesReportTheModuleItsVersionAndWhyNot)
{
    auto state = std::make_shared<FakeWcaliasState>();
    auto usable = fake_wcalias_control(state);
    auto capabilities = wcalias_capabilities(usable.get());
    ASSERT_EQ(capabilities.size(), 2u);
    EXPECT_EQ(capabilities[0].name, "wcalias-module");
    EXPECT_TRUE(capabilities[0].available);
    EXPECT_NE(capabilities[0].basis.find("0.1-fake"), std::string::npos);
    EXPECT_EQ(capabilities[1].name, "wcalias");
    EXPECT_TRUE(capabilities[1].available);
    EXPECT_NE(capabilities[1].basis.find("API version 1"), std::string::npos) << capabilities[1].basis;

    auto absent = absent_wcalias_control();
    capabilities = wcalias_capabilities(absent.get());
    EXPECT_FALSE(capabilities[0].available);
    EXPECT_FALSE(capabilities[1].available);
    EXPECT_NE(capabilities[1].basis.find("not loaded"), std::string::npos);
}

} // namespace
} // namespace wcbroker::test
