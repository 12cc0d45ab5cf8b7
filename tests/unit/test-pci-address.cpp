#include "pci-address.hpp"

#include <gtest/gtest.h>

namespace wcbroker {
namespace {

TEST(PciAddress, AcceptsCanonicalAndFoldsCase)
{
    EXPECT_EQ(canonical_pci_address("0000:3b:00.0"), "0000:3b:00.0");
    EXPECT_EQ(canonical_pci_address("0000:3B:1F.7"), "0000:3b:1f.7");
    EXPECT_EQ(canonical_pci_address("ffff:ff:1f.7"), "ffff:ff:1f.7");
}

TEST(PciAddress, RefusesShortFormsAndImpossibleNumbers)
{
    EXPECT_FALSE(canonical_pci_address("3b:00.0")); // no domain
    EXPECT_FALSE(canonical_pci_address("0000:3b:00.8")); // function is 3 bits
    EXPECT_FALSE(canonical_pci_address("0000:3b:20.0")); // device is 5 bits
    EXPECT_FALSE(canonical_pci_address("0000:3b:00:0"));
    EXPECT_FALSE(canonical_pci_address("0000:3g:00.0"));
    EXPECT_FALSE(canonical_pci_address("0000:3b:00.0\n"));
    EXPECT_FALSE(canonical_pci_address("../../../etc"));
    EXPECT_FALSE(canonical_pci_address(""));
}

TEST(PciAddressGlob, AcceptsWildcardsInEachField)
{
    EXPECT_EQ(canonical_pci_address_glob("0000:3B:*.*"), "0000:3b:*.*");
    EXPECT_TRUE(canonical_pci_address_glob("*:*:*.*"));
    EXPECT_TRUE(canonical_pci_address_glob("0000:[3-4]?:00.[0-3]"));
    EXPECT_TRUE(canonical_pci_address_glob("0000:3b:00.0"));
}

TEST(PciAddressGlob, RefusesWrongShape)
{
    EXPECT_FALSE(canonical_pci_address_glob("3b:00.0"));
    EXPECT_FALSE(canonical_pci_address_glob("0000:3b:00"));
    EXPECT_FALSE(canonical_pci_address_glob("0000::00.0"));
    EXPECT_FALSE(canonical_pci_address_glob("0000:3b.00:0"));
    EXPECT_FALSE(canonical_pci_address_glob("0000:3b:00.0.1"));
    EXPECT_FALSE(canonical_pci_address_glob("0000:3b:00.x"));
    EXPECT_FALSE(canonical_pci_address_glob("/sys/bus/pci"));
    EXPECT_FALSE(canonical_pci_address_glob(""));
}

TEST(PciAddressGlob, Matches)
{
    EXPECT_TRUE(pci_address_matches("0000:3b:*.*", "0000:3b:00.1"));
    EXPECT_FALSE(pci_address_matches("0000:3b:*.*", "0000:3c:00.1"));
    EXPECT_TRUE(pci_address_matches("0000:[3-4]?:00.0", "0000:4f:00.0"));
    EXPECT_FALSE(pci_address_matches("0000:3b:00.0", "0000:3b:00.1"));
}

} // namespace
} // namespace wcbroker
