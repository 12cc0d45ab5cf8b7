#include "device-facts-file.hpp"

#include <gtest/gtest.h>
#include <sstream>

namespace wcbroker::cli {
namespace {

TEST(DeviceFactsFile, RoundTripsThroughToml)
{
    Diagnostics diagnostics;
    auto facts = parse_device_facts("d.toml", R"(address = "0000:00:06.0"
vendor = 0x1d0f
device = 0xec20
class = 0x020000
iommu_group = 6
[[bar]]
index = 2
size = "1MiB"
kind = "memory64"
prefetchable = true
)", diagnostics);
    ASSERT_TRUE(facts) << (diagnostics.all().empty() ? "" : diagnostics.all()[0].to_string());
    EXPECT_EQ(facts->driver, "vfio-pci");
    ASSERT_NE(facts->bar(2), nullptr);
    EXPECT_TRUE(facts->bar(2)->has_wc_file);
    EXPECT_EQ(facts->bar(2)->size, 1u << 20);

    std::ostringstream text;
    text << device_facts_to_toml(*facts);
    Diagnostics again;
    auto reread = parse_device_facts("again.toml", text.str(), again);
    ASSERT_TRUE(reread) << text.str();
    EXPECT_EQ(reread->address, facts->address);
    EXPECT_EQ(reread->bar(2)->size, facts->bar(2)->size);
    EXPECT_EQ(reread->iommu_group, 6u);
}

TEST(DeviceFactsFile, ReportsLocatedErrors)
{
    Diagnostics diagnostics;
    auto facts = parse_device_facts("d.toml", "address = \"3b:00.0\"\nvendor = \"x\"\n[[bar]]\nindex = 9\n", diagnostics);
    EXPECT_FALSE(facts);
    ASSERT_EQ(diagnostics.error_count(), 4u);
    EXPECT_EQ(diagnostics.all()[0].to_string(), "d.toml:1:11: error: address: expected a PCI address such as \"0000:3b:00.0\"");
    EXPECT_EQ(diagnostics.all()[1].to_string(), "d.toml:2:10: error: vendor: expected a 16-bit id such as 0x1d0f");
}

} // namespace
} // namespace wcbroker::cli
