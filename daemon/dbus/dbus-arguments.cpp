#include "dbus-arguments.hpp"

namespace wcbroker {
namespace {

BrokerError wrong_option_type(const std::string& name, const std::string& expected, const sdbus::Variant& value)
{
    return {ErrorKind::InvalidArgument,
        "options: option " + name + " must be of type " + expected + ", got " + value.peekValueType()};
}

} // namespace

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
    // Each known option with the type it must have; a wrong type is named
    // as such, not as an unknown option.
    for (const auto& [name, value] : options) {
        if (name == "require_verified_wc") {
            if (!value.containsValueOfType<bool>())
                return wrong_option_type(name, "b (boolean)", value);
            arguments.require_verified_wc = value.get<bool>();
        } else if (name == "require_kernel_enforced_range") {
            if (!value.containsValueOfType<bool>())
                return wrong_option_type(name, "b (boolean)", value);
            arguments.require_kernel_enforced_range = value.get<bool>();
        } else if (name == "label") {
            if (!value.containsValueOfType<std::string>())
                return wrong_option_type(name, "s (string)", value);
            arguments.label = value.get<std::string>();
        } else {
            return BrokerError{ErrorKind::InvalidArgument,
                "options: unknown option \"" + name.substr(0, 64) + (name.size() > 64 ? "...\"" : "\"") + " of type "
                    + value.peekValueType() + "; valid options are \"require_verified_wc\" (b), "
                      "\"require_kernel_enforced_range\" (b) and \"label\" (s)"};
        }
    }
    return arguments;
}

} // namespace wcbroker
