// The seam between our code and the two sdbus-c++ majors we build against:
// 1.x (Debian 12: 1.2; Ubuntu 24.04: 1.4) and 2.x (Debian 13: 2.1).
//
// 2.x wraps names in types of their own (ServiceName, ObjectPath,
// InterfaceName, Error::Name), hands match callbacks a Message by value,
// renames processPendingRequest() and PollData::timeout_usec, and drops
// finishRegistration(). Every call whose spelling differs goes through
// here, so the rest of the tree is written once, against plain strings.
// This header does not depend on the major: only sdbus-compat.cpp does.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace wcbroker::sdbus_compat {

// A proxy on an existing connection, ready to call and to receive signals
// (1.x needs finishRegistration() for the latter; 2.x registers at once).
[[nodiscard]] std::unique_ptr<sdbus::IProxy> make_proxy(sdbus::IConnection& connection,
    const std::string& service, const std::string& object_path);

using MatchHandler = std::function<void(sdbus::Message&)>;

// A match rule that lasts as long as the returned slot.
[[nodiscard]] sdbus::Slot add_match(sdbus::IConnection& connection, const std::string& rule, MatchHandler handler);

// Processes one pending incoming or outgoing event; false when none was left.
bool process_pending(sdbus::IConnection& connection);

// The absolute CLOCK_MONOTONIC deadline in microseconds at which the
// connection wants processing, 0 for "now", UINT64_MAX for "no deadline".
std::uint64_t poll_deadline_usec(const sdbus::IConnection::PollData& poll);

void request_name(sdbus::IConnection& connection, const std::string& name);

[[nodiscard]] sdbus::Error make_error(const std::string& name, const std::string& message);

// The message's sender, "" if it has none (2.x returns a C string that may
// be null, 1.x a std::string: compared with == the former would compare
// pointers).
std::string sender_of(const sdbus::Message& message);

// A signal to fill and emit, e.g. after setDestination() for a unicast one.
sdbus::Signal make_signal(sdbus::IObject& object, const std::string& interface, const std::string& member);

// The unique bus name of the caller of the method being served; only
// inside a method handler.
std::string current_sender(const sdbus::IObject& object);

void emit_properties_changed(sdbus::IObject& object, const std::string& interface,
    const std::vector<std::string>& properties);

// A method served from a raw MethodCall (the handler sends its own reply),
// for objects that have no generated adaptor: the benchmarks' stand-ins.
struct RawMethod {
    std::string name;
    std::string input_signature;
    std::string output_signature;
    std::function<void(sdbus::MethodCall)> handler;
};

// An object at object_path serving these methods on one interface, already
// registered on the bus.
[[nodiscard]] std::unique_ptr<sdbus::IObject> make_object(sdbus::IConnection& connection,
    const std::string& object_path, const std::string& interface, std::vector<RawMethod> methods);

} // namespace wcbroker::sdbus_compat
