#include "broker-error.hpp"

namespace wcbroker {

std::string_view error_name(ErrorKind kind)
{
    switch (kind) {
    case ErrorKind::AccessDenied:
        return "org.wcbroker.Error.AccessDenied";
    case ErrorKind::NoSuchDevice:
        return "org.wcbroker.Error.NoSuchDevice";
    case ErrorKind::NoSuchLease:
        return "org.wcbroker.Error.NoSuchLease";
    case ErrorKind::InvalidRange:
        return "org.wcbroker.Error.InvalidRange";
    case ErrorKind::InvalidArgument:
        return "org.freedesktop.DBus.Error.InvalidArgs";
    case ErrorKind::Unsupported:
        return "org.wcbroker.Error.Unsupported";
    case ErrorKind::Busy:
        return "org.wcbroker.Error.Busy";
    case ErrorKind::LimitExceeded:
        return "org.wcbroker.Error.LimitExceeded";
    case ErrorKind::PolicyError:
        return "org.wcbroker.Error.PolicyError";
    case ErrorKind::Failed:
        break;
    }
    return "org.wcbroker.Error.Failed";
}

} // namespace wcbroker
