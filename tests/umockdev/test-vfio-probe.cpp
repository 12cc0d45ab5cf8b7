// The VFIO feature probe against an emulated VFIO device node: umockdev
// forwards our ioctl to a handler that answers as a kernel would.

#include "vfio-features.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <umockdev.h>
#include <unistd.h>

namespace wcbroker {
namespace {

struct KernelAnswer {
    int error = 0;            // what the emulated kernel answers
    std::uint32_t flags = 0;  // what it was asked
    std::uint32_t argsz = 0;
    int calls = 0;
};

gboolean answer_feature_ioctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer userdata)
{
    auto* answer = static_cast<KernelAnswer*>(userdata);
    if (umockdev_ioctl_client_get_request(client) != VFIO_DEVICE_FEATURE)
        return FALSE;
    GError* error = nullptr;
    UMockdevIoctlData* data = umockdev_ioctl_data_resolve(umockdev_ioctl_client_get_arg(client), 0,
        sizeof(struct vfio_device_feature), &error);
    if (data == nullptr) {
        g_clear_error(&error);
        return FALSE;
    }
    const auto* feature = reinterpret_cast<const struct vfio_device_feature*>(data->data);
    answer->flags = feature->flags;
    answer->argsz = feature->argsz;
    ++answer->calls;
    umockdev_ioctl_client_complete(client, answer->error == 0 ? 0 : -1, answer->error);
    return TRUE;
}

class VfioProbe : public ::testing::Test {
protected:
    void SetUp() override
    {
        testbed_ = umockdev_testbed_new();
        ASSERT_TRUE(umockdev_in_mock_environment()) << "run under umockdev-wrapper";
        handler_ = umockdev_ioctl_base_new();
        g_signal_connect(handler_, "handle-ioctl", G_CALLBACK(answer_feature_ioctl), &answer_);
        // The handler must be attached before the node exists (umockdev #173).
        ASSERT_TRUE(umockdev_testbed_attach_ioctl(testbed_, "/dev/vfio/devices/vfio0", handler_, nullptr));
        ASSERT_TRUE(umockdev_testbed_add_from_string(testbed_,
            "P: /devices/virtual/vfio-dev/vfio0\nN: vfio/devices/vfio0\nE: SUBSYSTEM=vfio-dev\n"
            "E: DEVNAME=/dev/vfio/devices/vfio0\n",
            nullptr));
        fd_ = ::open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
        ASSERT_GE(fd_, 0);
    }
    void TearDown() override
    {
        if (fd_ >= 0)
            ::close(fd_);
        g_object_unref(handler_);
        g_object_unref(testbed_);
    }

    UMockdevTestbed* testbed_ = nullptr;
    UMockdevIoctlBase* handler_ = nullptr;
    KernelAnswer answer_;
    int fd_ = -1;
};

TEST_F(VfioProbe, AsksWithProbeAndGetAndNoPayload)
{
    EXPECT_EQ(probe_vfio_device_feature(fd_, vfio_feature_dma_buf), FeatureProbe::Supported);
    EXPECT_EQ(answer_.calls, 1);
    EXPECT_EQ(answer_.flags, vfio_feature_dma_buf | VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET);
    EXPECT_EQ(answer_.argsz, sizeof(struct vfio_device_feature));
}

TEST_F(VfioProbe, SetDirectionAsksWithSet)
{
    probe_vfio_device_feature(fd_, vfio_feature_dma_buf_memattr, true);
    EXPECT_EQ(answer_.flags, vfio_feature_dma_buf_memattr | VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET);
}

TEST_F(VfioProbe, MapsEachKernelAnswer)
{
    const std::pair<int, FeatureProbe> cases[] = {
        {ENOTTY, FeatureProbe::Unknown},
        {EINVAL, FeatureProbe::WrongDirection},
        {EOPNOTSUPP, FeatureProbe::NoBackend},
        {EIO, FeatureProbe::Failed},
    };
    for (const auto& [error, expected] : cases) {
        answer_.error = error;
        EXPECT_EQ(probe_vfio_device_feature(fd_, vfio_feature_dma_buf), expected) << error;
    }
}

TEST_F(VfioProbe, AProbeResultFeedsTheCapabilitiesOnlyOnNewKernels)
{
    answer_.error = EOPNOTSUPP;
    const FeatureProbe result = probe_vfio_device_feature(fd_, vfio_feature_dma_buf);
    EXPECT_FALSE(vfio_capabilities({7, 3, 0}, result)[0].available);
    EXPECT_EQ(vfio_capabilities({7, 3, 0}, result)[0].basis, "probed: not implemented by this device's driver (EOPNOTSUPP)");
}

} // namespace
} // namespace wcbroker
