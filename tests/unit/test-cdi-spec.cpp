// The CDI spec wcbrokerctl cdi writes: the fields and values container
// runtimes check (cdiVersion, kind, device names, non-empty device edits),
// and what each device gives a container.

#include "cdi-spec.hpp"
#include "policy-test-support.hpp"

#include <gtest/gtest.h>

namespace wcbroker::test {
namespace {

using cli::cdi_kind_problem;
using cli::CdiOptions;
using cli::make_cdi_spec;

const toml::table& device_named(const toml::table& spec, std::string_view name)
{
    static const toml::table none;
    for (const toml::node& node : *spec["devices"].as_array()) {
        const toml::table& device = *node.as_table();
        if (device["name"].value_or(std::string()) == name)
            return device;
    }
    ADD_FAILURE() << "no CDI device named " << name;
    return none;
}

std::vector<std::string> strings(const toml::node_view<const toml::node>& array, std::string_view key = {})
{
    std::vector<std::string> values;
    if (const toml::array* list = array.as_array()) {
        for (const toml::node& node : *list) {
            values.push_back(key.empty() ? node.value_or(std::string()) : (*node.as_table())[key].value_or(std::string()));
        }
    }
    return values;
}

TEST(CdiSpec, NamesEachVfioDeviceByAddressWithItsGroupNode)
{
    DeviceFacts on_vfio = nic_facts("0000:3b:00.0");
    on_vfio.iommu_group = 12;
    DeviceFacts on_host_driver = nic_facts("0000:3b:00.1");
    on_host_driver.driver = "ixgbe";
    DeviceFacts no_group = nic_facts("0000:5e:00.0");
    no_group.iommu_group.reset();

    const toml::table spec = make_cdi_spec({on_vfio, on_host_driver, no_group}, CdiOptions{});
    EXPECT_EQ(spec["cdiVersion"].value_or(std::string()), "0.5.0");
    EXPECT_EQ(spec["kind"].value_or(std::string()), "wcbroker.org/vfio");
    EXPECT_EQ(strings(spec["devices"], "name"), (std::vector<std::string>{"broker", "0000:3b:00.0"}));

    const toml::table& device = device_named(spec, "0000:3b:00.0");
    EXPECT_EQ(strings(device["containerEdits"]["deviceNodes"], "path"),
        (std::vector<std::string>{"/dev/vfio/vfio", "/dev/vfio/12"}));
}

TEST(CdiSpec, EveryDeviceBringsTheBusAndNoDeviceHasEmptyEdits)
{
    CdiOptions options;
    options.bus_socket = "/var/run/dbus/system_bus_socket";
    const toml::table spec = make_cdi_spec({nic_facts()}, options);

    const auto env = std::vector<std::string>{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=/var/run/dbus/system_bus_socket"};
    EXPECT_EQ(strings(spec["containerEdits"]["env"]), env);
    // The socket's directory, so a restarted dbus-daemon's new socket shows.
    const toml::table& mount = *spec["containerEdits"]["mounts"][0].as_table();
    EXPECT_EQ(mount["hostPath"].value_or(std::string()), "/var/run/dbus");
    EXPECT_EQ(mount["containerPath"].value_or(std::string()), "/var/run/dbus");
    EXPECT_EQ(strings(mount["options"]), (std::vector<std::string>{"bind", "ro", "nosuid", "nodev", "noexec"}));

    // Runtimes refuse a device whose own edits are empty.
    const toml::table& broker = device_named(spec, "broker");
    EXPECT_EQ(strings(broker["containerEdits"]["env"]), env);
    for (const toml::node& node : *spec["devices"].as_array())
        EXPECT_FALSE((*node.as_table())["containerEdits"].as_table()->empty());
}

TEST(CdiSpec, KindMustBeDomainSlashClass)
{
    EXPECT_EQ(cdi_kind_problem("wcbroker.org/vfio"), "");
    EXPECT_EQ(cdi_kind_problem("example.com/wc_bar-1"), "");
    EXPECT_NE(cdi_kind_problem("vfio"), "");
    EXPECT_NE(cdi_kind_problem("/vfio"), "");
    EXPECT_NE(cdi_kind_problem("wcbroker.org/"), "");
    EXPECT_NE(cdi_kind_problem("wcbroker.org/vfio/extra"), "");
    EXPECT_NE(cdi_kind_problem("wcbroker.org/-vfio"), "");
    EXPECT_NE(cdi_kind_problem("wc broker.org/vfio"), "");
}

} // namespace
} // namespace wcbroker::test
