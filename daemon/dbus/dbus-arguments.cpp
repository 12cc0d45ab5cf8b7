#include "dbus-arguments.hpp"

namespace wcbroker {

RequestArguments request_arguments(const std::string& device, std::uint32_t bar, std::uint64_t offset,
    std::uint64_t length, const std::string& access)
{
    RequestArguments arguments;
    arguments.device = device;
    arguments.bar = bar;
    arguments.offset = offset;
    arguments.length = length;
    arguments.access = access;
    return arguments;
}

Expected<AcquireArguments> acquire_arguments(const std::string& device, std::uint32_t bar, std::uint64_t offset,
    std::uint64_t length, const std::string& access, const std::map<std::string, sdbus::Variant>& options)
{
    AcquireArguments arguments;
    static_cast<RequestArguments&>(arguments) = request_arguments(device, bar, offset, length, access);
    for (const auto& [name, value] : options) {
        if (name == "require_verified_wc" && value.containsValueOfType<bool>()) {
            arguments.require_verified_wc = value.get<bool>();
        } else if (name == "label" && value.containsValueOfType<std::string>()) {
            arguments.label = value.get<std::string>();
        } else {
            return BrokerError{ErrorKind::InvalidArgument,
                "options: unknown option \"" + name + "\" of type " + value.peekValueType()
                    + "; valid options are \"require_verified_wc\" (b) and \"label\" (s)"};
        }
    }
    return arguments;
}

} // namespace wcbroker
