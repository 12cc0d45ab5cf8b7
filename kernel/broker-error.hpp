// Why a request was refused, in a form that maps one-to-one onto the
// org.wcbroker.Error.* D-Bus errors. Messages say what to change.
#pragma once

#include <string>
#include <string_view>

namespace wcbroker {

enum class ErrorKind {
    AccessDenied,    // the policy does not grant it, or the caller may not call this
    NoSuchDevice,    // not a device wcbrokerd serves (absent, or not on vfio-pci)
    NoSuchLease,
    InvalidRange,    // outside the BAR, unaligned, empty, overflowing
    InvalidArgument, // malformed argument: bad BDF, unknown option, bad access
    Unsupported,     // the kernel or platform cannot do it (no WC, lockdown, ...)
    Busy,            // a VFIO user claimed the BAR, or a live lease conflicts
    LimitExceeded,   // the rule's max_leases for this uid is used up
    PolicyError,     // a reload was refused
    Failed,          // anything else; the message says what
};

struct BrokerError {
    ErrorKind kind = ErrorKind::Failed;
    std::string message;
};

// The D-Bus error name, e.g. "org.wcbroker.Error.AccessDenied"; InvalidArgument
// maps to the standard org.freedesktop.DBus.Error.InvalidArgs.
std::string_view error_name(ErrorKind kind);

} // namespace wcbroker
