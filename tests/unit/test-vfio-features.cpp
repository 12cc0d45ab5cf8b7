#include "vfio-features.hpp"

#include <gtest/gtest.h>

namespace wcbroker {
namespace {

TEST(KernelVersion, ParsesDistributionReleases)
{
    EXPECT_EQ(KernelVersion::parse("6.12.117+deb12-amd64"), (KernelVersion{6, 12, 117}));
    EXPECT_EQ(KernelVersion::parse("6.1.0-56-cloud-amd64"), (KernelVersion{6, 1, 0}));
    EXPECT_EQ(KernelVersion::parse("7.3-rc2"), (KernelVersion{7, 3, 0}));
    EXPECT_FALSE(KernelVersion::parse("linux"));
    EXPECT_FALSE(KernelVersion::parse("6"));
    EXPECT_LT((KernelVersion{6, 18, 9}), (KernelVersion{6, 19, 0}));
}

TEST(VfioCapabilities, DmaBufExportOnlyFromVersion619)
{
    const auto old = vfio_capabilities({6, 12, 0});
    ASSERT_EQ(old.size(), 3u);
    EXPECT_EQ(old[0].name, "vfio-dmabuf-export");
    EXPECT_FALSE(old[0].available);
    const auto current = vfio_capabilities({6, 19, 0});
    EXPECT_TRUE(current[0].available);
}

TEST(VfioCapabilities, ProposedFeaturesAreNeverAvailableUntilMerged)
{
    for (const KernelVersion& kernel : {KernelVersion{6, 1, 0}, KernelVersion{7, 3, 0}, KernelVersion{99, 0, 0}}) {
        const auto caps = vfio_capabilities(kernel);
        EXPECT_FALSE(caps[1].available) << caps[1].name;
        EXPECT_FALSE(caps[2].available) << caps[2].name;
    }
}

} // namespace
} // namespace wcbroker
