// The uevent socket's receive buffer: what the daemon asked for, what it got
// on this host, and the warning it logs when it got less (under the shipped
// unit, which has no CAP_NET_ADMIN for SO_RCVBUFFORCE).

#include "udev-monitor.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace wcbroker::test {
namespace {

TEST(UdevReceiveBuffer, LessThanAskedForIsWarnedAboutWithHowManyEventsFit)
{
    // What the stock net.core.rmem_max (212992) gives without CAP_NET_ADMIN.
    const ReceiveBuffer shipped{128 << 20, 425984, EPERM};
    const auto warning = receive_buffer_warning(shipped);
    ASSERT_TRUE(warning);
    EXPECT_NE(warning->find("asked for 128 MiB, got 416 KiB (Operation not permitted)"), std::string::npos) << *warning;
    EXPECT_NE(warning->find("CAP_NET_ADMIN"), std::string::npos) << *warning;
    EXPECT_NE(warning->find("net.core.rmem_max"), std::string::npos) << *warning;
    EXPECT_NE(warning->find("About 332 uevents fit"), std::string::npos) << *warning;
}

TEST(UdevReceiveBuffer, GettingWhatWasAskedForIsSilent)
{
    EXPECT_FALSE(receive_buffer_warning({128 << 20, 256 << 20, 0}));
}

TEST(UdevReceiveBuffer, TheMonitorRecordsWhatTheKernelGranted)
{
    const UdevMonitor monitor(UdevSource::Kernel);
    int granted = 0;
    socklen_t length = sizeof granted;
    ASSERT_EQ(::getsockopt(monitor.fd(), SOL_SOCKET, SO_RCVBUF, &granted, &length), 0);
    EXPECT_EQ(monitor.receive_buffer().requested_bytes, 128 << 20);
    EXPECT_EQ(monitor.receive_buffer().granted_bytes, granted);
    EXPECT_EQ(receive_buffer_warning(monitor.receive_buffer()).has_value(), granted < (128 << 20));
}

} // namespace
} // namespace wcbroker::test
