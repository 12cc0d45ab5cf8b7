// The only file that knows which sdbus-c++ major it is built against:
// WCBROKER_SDBUSCPP_MAJOR comes from dbus/meson.build (the headers of
// neither 1.2 nor 2.1 say their version).
#include "sdbus-compat.hpp"

#include <chrono>
#include <utility>

#ifndef WCBROKER_SDBUSCPP_MAJOR
#error "WCBROKER_SDBUSCPP_MAJOR must be set by the build"
#endif

namespace wcbroker::sdbus_compat {

#if WCBROKER_SDBUSCPP_MAJOR >= 2

std::unique_ptr<sdbus::IProxy> make_proxy(sdbus::IConnection& connection, const std::string& service,
    const std::string& object_path)
{
    return sdbus::createProxy(connection, sdbus::ServiceName(service), sdbus::ObjectPath(object_path));
}

sdbus::Slot add_match(sdbus::IConnection& connection, const std::string& rule, MatchHandler handler)
{
    return connection.addMatch(
        rule, [handler = std::move(handler)](sdbus::Message message) { handler(message); }, sdbus::return_slot);
}

bool process_pending(sdbus::IConnection& connection)
{
    return connection.processPendingEvent();
}

std::uint64_t poll_deadline_usec(const sdbus::IConnection::PollData& poll)
{
    // sd-bus's "no deadline" is UINT64_MAX; in the signed microseconds of
    // 2.x it may arrive as max() or as a negative count.
    const auto count = poll.timeout.count();
    if (poll.timeout == std::chrono::microseconds::max() || count < 0)
        return UINT64_MAX;
    return static_cast<std::uint64_t>(count);
}

void request_name(sdbus::IConnection& connection, const std::string& name)
{
    connection.requestName(sdbus::ServiceName(name));
}

sdbus::Error make_error(const std::string& name, const std::string& message)
{
    return sdbus::Error(sdbus::Error::Name(name), message);
}

std::string sender_of(const sdbus::Message& message)
{
    const char* sender = message.getSender();
    return sender != nullptr ? sender : "";
}

sdbus::Signal make_signal(sdbus::IObject& object, const std::string& interface, const std::string& member)
{
    return object.createSignal(sdbus::InterfaceName(interface), sdbus::SignalName(member));
}

std::string current_sender(const sdbus::IObject& object)
{
    return sender_of(object.getCurrentlyProcessedMessage());
}

void emit_properties_changed(sdbus::IObject& object, const std::string& interface,
    const std::vector<std::string>& properties)
{
    std::vector<sdbus::PropertyName> names(properties.begin(), properties.end());
    object.emitPropertiesChangedSignal(sdbus::InterfaceName(interface), names);
}

std::unique_ptr<sdbus::IObject> make_object(sdbus::IConnection& connection, const std::string& object_path,
    const std::string& interface, std::vector<RawMethod> methods)
{
    auto object = sdbus::createObject(connection, sdbus::ObjectPath(object_path));
    std::vector<sdbus::VTableItem> vtable;
    for (RawMethod& method : methods) {
        sdbus::MethodVTableItem item{};
        item.name = sdbus::MethodName(method.name);
        item.inputSignature = sdbus::Signature(method.input_signature);
        item.outputSignature = sdbus::Signature(method.output_signature);
        item.callbackHandler = std::move(method.handler);
        vtable.emplace_back(std::move(item));
    }
    object->addVTable(sdbus::InterfaceName(interface), std::move(vtable));
    return object;
}

#else // sdbus-c++ 1.x

std::unique_ptr<sdbus::IProxy> make_proxy(sdbus::IConnection& connection, const std::string& service,
    const std::string& object_path)
{
    auto proxy = sdbus::createProxy(connection, service, object_path);
    proxy->finishRegistration();
    return proxy;
}

sdbus::Slot add_match(sdbus::IConnection& connection, const std::string& rule, MatchHandler handler)
{
    return connection.addMatch(rule, std::move(handler));
}

bool process_pending(sdbus::IConnection& connection)
{
    return connection.processPendingRequest();
}

std::uint64_t poll_deadline_usec(const sdbus::IConnection::PollData& poll)
{
    return poll.timeout_usec;
}

void request_name(sdbus::IConnection& connection, const std::string& name)
{
    connection.requestName(name);
}

sdbus::Error make_error(const std::string& name, const std::string& message)
{
    return sdbus::Error(name, message);
}

std::string sender_of(const sdbus::Message& message)
{
    return message.getSender();
}

sdbus::Signal make_signal(sdbus::IObject& object, const std::string& interface, const std::string& member)
{
    return object.createSignal(interface, member);
}

std::string current_sender(const sdbus::IObject& object)
{
    return object.getCurrentlyProcessedMessage()->getSender();
}

void emit_properties_changed(sdbus::IObject& object, const std::string& interface,
    const std::vector<std::string>& properties)
{
    object.emitPropertiesChangedSignal(interface, properties);
}

std::unique_ptr<sdbus::IObject> make_object(sdbus::IConnection& connection, const std::string& object_path,
    const std::string& interface, std::vector<RawMethod> methods)
{
    auto object = sdbus::createObject(connection, object_path);
    for (RawMethod& method : methods)
        object->registerMethod(interface, method.name, method.input_signature, method.output_signature,
            std::move(method.handler));
    object->finishRegistration();
    return object;
}

#endif

} // namespace wcbroker::sdbus_compat
