// BrokerError -> the sdbus::Error the client receives.
#pragma once

#include "broker-error.hpp"
#include "sdbus-compat.hpp"

#include <sdbus-c++/Error.h>
#include <string>

namespace wcbroker {

[[noreturn]] inline void throw_dbus_error(const BrokerError& error)
{
    throw sdbus_compat::make_error(std::string(error_name(error.kind)), error.message);
}

// Object path elements allow only [A-Za-z0-9_]: "0000:3b:00.0" -> "0000_3b_00_0".
inline std::string device_object_path(const std::string& address)
{
    std::string element = address;
    for (char& c : element) {
        if (c == ':' || c == '.')
            c = '_';
    }
    return "/org/wcbroker/Broker1/device/" + element;
}

inline std::string lease_object_path(std::uint64_t id)
{
    return "/org/wcbroker/Broker1/lease/" + std::to_string(id);
}

} // namespace wcbroker
