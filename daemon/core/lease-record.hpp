// A lease written down, so that a daemon restarted after a crash knows the
// leases its predecessor granted: one small text file per lease in the
// state directory (/run/wcbroker/leases/ID.lease).
//
// The format is "key=value" lines, values with "\\" and newlines escaped,
// headed by "version=1". Unknown keys are ignored so that a newer daemon's
// records do not stop an older one; a missing or malformed required key
// makes the whole record unusable, and the parser says which.
#pragma once

#include "lease.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace wcbroker {

struct LeaseRecord {
    LeaseInfo lease;    // a record cannot hold the fd
    std::string bus_id; // the bus instance (org.freedesktop.DBus.GetId) the owner's unique name belongs to
};

// The largest id a record may carry: far beyond any daemon's count, and far
// enough below 2^64 that counting on from it cannot wrap.
inline constexpr std::uint64_t max_lease_id = std::uint64_t{1} << 62;

// BUS_ID: the bus instance the lease's owner is connected to.
std::string format_lease_record(const LeaseInfo& lease, std::string_view bus_id);

// The record, or why the text is not one.
std::variant<LeaseRecord, std::string> parse_lease_record(std::string_view text);

} // namespace wcbroker
