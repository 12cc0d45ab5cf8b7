#include "private-bus.hpp"

#include <fstream>
#include <sstream>

namespace wcbroker::test {

PrivateBus start_private_bus(const std::filesystem::path& dir, const std::string& conf_template,
    const std::string& bus_policy_file, const std::string& extra_policy)
{
    std::ifstream in(conf_template);
    std::stringstream text;
    text << in.rdbuf();
    std::string conf = text.str();
    auto replace = [&](const std::string& key, const std::string& value) {
        for (auto at = conf.find(key); at != std::string::npos; at = conf.find(key, at + value.size()))
            conf.replace(at, key.size(), value);
    };
    replace("@LISTEN@", "unix:path=" + (dir / "bus").string());
    replace("@POLICY@", bus_policy_file);
    if (const auto end = conf.find("</busconfig>"); end != std::string::npos)
        conf.insert(end, extra_policy);
    std::ofstream(dir / "bus.conf") << conf;

    SpawnOptions options;
    options.env = environment_without({"LD_PRELOAD", "UMOCKDEV_DIR"});
    options.stderr_file = (dir / "dbus-daemon.log").string();
    PrivateBus bus;
    bus.daemon = spawn({"/usr/bin/dbus-daemon", "--config-file=" + (dir / "bus.conf").string(), "--nofork",
                           "--print-address=1"},
        options);
    bus.address = bus.daemon.read_line().value_or("");
    return bus;
}

std::vector<std::string> client_environment(const std::string& bus_address)
{
    return environment_without({"LD_PRELOAD", "UMOCKDEV_DIR"}, {"DBUS_SYSTEM_BUS_ADDRESS=" + bus_address});
}

} // namespace wcbroker::test
