// libwcbroker: the C API over sdbus-c++. Exceptions stop here.

#include "wcbroker.h"

#include "sdbus-compat.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

struct wcbroker_session {
    std::unique_ptr<sdbus::IConnection> connection;
    std::unique_ptr<sdbus::IProxy> broker;
    // One match for every Revoked signal wcbrokerd sends, set up once:
    // a match per lease would cost a round trip to the bus on every map.
    sdbus::Slot revoked_match;
    // wcbrokerd's unique name, followed through the bus driver's
    // NameOwnerChanged: a Revoked from any other connection is dropped.
    std::string daemon_name;
    sdbus::Slot owner_match;
    std::map<std::string, wcbroker_mapping*> mappings; // by lease path
    wcbroker_revoked_fn on_revoked = nullptr;
    void* on_revoked_userdata = nullptr;
};

struct wcbroker_mapping {
    wcbroker_session* session = nullptr;
    std::string lease_path;
    int fd = -1;
    void* address = MAP_FAILED;
    std::size_t length = 0;
    std::string memtype;
    std::string mechanism;
    std::string range_enforcement;
    std::uint64_t mmap_offset = 0;
    bool revoked = false;
    std::string revoked_reason;
};

namespace {

constexpr const char* service = "org.wcbroker.Broker1";
constexpr const char* broker_path = "/org/wcbroker/Broker1";
constexpr const char* broker_interface = "org.wcbroker.Broker1";
constexpr const char* lease_interface = "org.wcbroker.Lease1";

// The request's first layout, up to and including `label`.
constexpr std::size_t request_size_first_layout = offsetof(struct wcbroker_map_request, label) + sizeof(const char*);

int fail(char** error, int code, const std::string& message)
{
    if (error != nullptr)
        *error = ::strdup(message.c_str());
    return -code;
}

// org.wcbroker.Error.* -> errno, documented in wcbroker.h.
int errno_for(const sdbus::Error& error)
{
    const std::string& name = error.getName();
    static const std::map<std::string, int> codes{
        {"org.wcbroker.Error.AccessDenied", EACCES},
        {"org.wcbroker.Error.NoSuchDevice", ENODEV},
        {"org.wcbroker.Error.NoSuchLease", ENOENT},
        {"org.wcbroker.Error.InvalidRange", ERANGE},
        {"org.wcbroker.Error.Unsupported", EOPNOTSUPP},
        {"org.wcbroker.Error.Busy", EBUSY},
        {"org.wcbroker.Error.LimitExceeded", EDQUOT},
        {"org.freedesktop.DBus.Error.InvalidArgs", EINVAL},
        {"org.freedesktop.DBus.Error.ServiceUnknown", ECONNREFUSED},
        {"org.freedesktop.DBus.Error.NameHasNoOwner", ECONNREFUSED},
        {"org.freedesktop.DBus.Error.NoReply", ECONNREFUSED},
        {"org.freedesktop.DBus.Error.AccessDenied", EACCES},
        {"org.freedesktop.DBus.Error.UnknownObject", ENOENT}, // a lease path that does not exist
    };
    auto it = codes.find(name);
    if (it != codes.end())
        return it->second;
    if (name.rfind("System.Error.", 0) == 0)
        return ECONNREFUSED; // sd-bus could not even talk to the bus
    return EIO;
}

int fail(char** error, const sdbus::Error& dbus_error)
{
    return fail(error, errno_for(dbus_error), dbus_error.getMessage().empty() ? dbus_error.getName() : dbus_error.getMessage());
}

bool sent_by_bus_driver(const sdbus::Message& message)
{
    return wcbroker::sdbus_compat::sender_of(message) == "org.freedesktop.DBus";
}

void follow_daemon_owner(wcbroker_session* session, sdbus::Message& message)
{
    if (!sent_by_bus_driver(message))
        return;
    try {
        std::string name, old_owner, new_owner;
        message >> name >> old_owner >> new_owner;
        if (name == service)
            session->daemon_name = new_owner;
    } catch (const std::exception&) {
    }
}

// Any client can send a unicast signal to any other, and sd-bus does not
// check a well-known sender in a match itself: the sender is checked here,
// and a message whose first argument is not a string is ignored rather
// than allowed to fail the session.
void dispatch_revoked(wcbroker_session* session, sdbus::Message& message)
{
    if (session->daemon_name.empty() || wcbroker::sdbus_compat::sender_of(message) != session->daemon_name)
        return;
    auto it = session->mappings.find(message.getPath());
    if (it == session->mappings.end())
        return; // not one of ours
    std::string reason;
    try {
        message >> reason;
    } catch (const std::exception&) {
        return; // not a string: not the daemon's Revoked
    }
    wcbroker_mapping* mapping = it->second;
    if (mapping->revoked)
        return;
    mapping->revoked = true;
    mapping->revoked_reason = reason;
    if (session->on_revoked != nullptr)
        session->on_revoked(mapping, mapping->revoked_reason.c_str(), session->on_revoked_userdata);
}

int open_with(wcbroker_session** out, std::unique_ptr<sdbus::IConnection> (*connect)(const char*), const char* address,
    char** error)
{
    if (out == nullptr)
        return fail(error, EINVAL, "wcbroker_session_open: session is NULL");
    auto session = std::make_unique<wcbroker_session>();
    try {
        session->connection = connect(address);
        session->broker = wcbroker::sdbus_compat::make_proxy(*session->connection, service, broker_path);
        // Followed before it is first asked, so no change falls in between.
        wcbroker_session* raw = session.get();
        session->owner_match = wcbroker::sdbus_compat::add_match(*session->connection,
            "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
            "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.wcbroker.Broker1'",
            [raw](sdbus::Message& message) { follow_daemon_owner(raw, message); });
        // Revoked comes as a unicast to this connection; the rule's sender
        // only narrows what the bus routes, dispatch_revoked() checks it.
        session->revoked_match = wcbroker::sdbus_compat::add_match(*session->connection,
            "type='signal',sender='org.wcbroker.Broker1',interface='org.wcbroker.Lease1',member='Revoked'",
            [raw](sdbus::Message& message) { dispatch_revoked(raw, message); });
    } catch (const sdbus::Error& e) {
        return fail(error, ECONNREFUSED, "cannot connect to the system bus: " + e.getMessage());
    } catch (const std::exception& e) {
        return fail(error, EIO, e.what());
    }
    // Fail now, not at the first map, when wcbrokerd is not there.
    try {
        // Asking Version may start wcbrokerd (bus activation); then its name has an owner.
        session->broker->getProperty("Version").onInterface(broker_interface);
        auto bus = wcbroker::sdbus_compat::make_proxy(*session->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        std::string owner;
        bus->callMethod("GetNameOwner").onInterface("org.freedesktop.DBus").withArguments(std::string(service)).storeResultsTo(owner);
        session->daemon_name = owner;
        *out = session.release();
        return 0;
    } catch (const sdbus::Error& e) {
        return fail(error, ECONNREFUSED, "wcbrokerd does not answer on the system bus: " + e.getMessage());
    } catch (const std::exception& e) {
        return fail(error, EIO, e.what());
    }
}

void release_resources(wcbroker_mapping* mapping)
{
    if (mapping->address != MAP_FAILED)
        ::munmap(mapping->address, mapping->length);
    if (mapping->fd >= 0)
        ::close(mapping->fd);
    mapping->address = MAP_FAILED;
    mapping->fd = -1;
}

// While a call waits for its reply, sd-bus reads and queues whatever else
// arrives, such as a Revoked signal; the socket is then no longer readable,
// so a client polling wcbroker_session_fd() would not learn of it. Every
// call that talks to the bus therefore dispatches what it queued.
void dispatch_queued(wcbroker_session* session)
{
    // The connection's trouble, if any, shows up at the next call.
    (void)wcbroker_session_process(session);
}

} // namespace

extern "C" {

int wcbroker_session_open(wcbroker_session** session, char** error)
{
    return open_with(session, [](const char*) { return sdbus::createSystemBusConnection(); }, nullptr, error);
}

int wcbroker_session_open_address(wcbroker_session** session, const char* address, char** error)
{
    if (address == nullptr)
        return fail(error, EINVAL, "wcbroker_session_open_address: address is NULL");
    return open_with(
        session, [](const char* a) { return sdbus::createSessionBusConnectionWithAddress(a); }, address, error);
}

void wcbroker_session_close(wcbroker_session* session)
{
    if (session == nullptr)
        return;
    while (!session->mappings.empty())
        wcbroker_unmap(session->mappings.begin()->second);
    delete session;
}

int wcbroker_map(wcbroker_session* session, const struct wcbroker_map_request* request, wcbroker_mapping** out,
    char** error)
{
    if (session == nullptr || request == nullptr || out == nullptr || request->device == nullptr)
        return fail(error, EINVAL, "wcbroker_map: session, request, request->device and mapping must not be NULL");
    if (request->size < request_size_first_layout)
        return fail(error, EINVAL, "wcbroker_map: request->size is too small; initialize with WCBROKER_MAP_REQUEST_INIT");
    // A program built against the first layout passes the shorter struct.
    const bool has_later_fields = request->size >= sizeof(struct wcbroker_map_request);
    void* const address = has_later_fields ? request->address : nullptr;
    const bool require_kernel_enforced_range = has_later_fields && request->require_kernel_enforced_range != 0;
    if (address != nullptr && reinterpret_cast<std::uintptr_t>(address) % static_cast<std::uintptr_t>(::getpagesize()) != 0)
        return fail(error, EINVAL, "wcbroker_map: request->address is not page-aligned");
    if (request->access != WCBROKER_WRITE_COMBINE && request->access != WCBROKER_UNCACHED)
        return fail(error, EINVAL, "wcbroker_map: access must be WCBROKER_WRITE_COMBINE or WCBROKER_UNCACHED");

    auto mapping = std::make_unique<wcbroker_mapping>();
    mapping->session = session;
    try {
        std::map<std::string, sdbus::Variant> options;
        if (request->require_verified_wc)
            options.emplace("require_verified_wc", sdbus::Variant(true));
        if (require_kernel_enforced_range)
            options.emplace("require_kernel_enforced_range", sdbus::Variant(true));
        if (request->label != nullptr)
            options.emplace("label", sdbus::Variant(std::string(request->label)));
        sdbus::ObjectPath lease;
        sdbus::UnixFd fd;
        std::uint64_t length = 0;
        std::map<std::string, sdbus::Variant> info;
        session->broker->callMethod("Acquire")
            .onInterface(broker_interface)
            .withArguments(std::string(request->device), static_cast<std::uint32_t>(request->bar), request->offset,
                request->length, std::string(request->access == WCBROKER_WRITE_COMBINE ? "write-combine" : "uncached"),
                options)
            .storeResultsTo(lease, fd, mapping->mmap_offset, length, mapping->memtype, info);
        mapping->lease_path = lease;
        mapping->fd = fd.release();
        mapping->length = length;
        if (auto it = info.find("mechanism"); it != info.end())
            mapping->mechanism = it->second.get<std::string>();
        if (auto it = info.find("range_enforcement"); it != info.end())
            mapping->range_enforcement = it->second.get<std::string>();
        // Revocations for this lease are dispatched from now on.
        session->mappings.emplace(mapping->lease_path, mapping.get());
    } catch (const sdbus::Error& e) {
        release_resources(mapping.get());
        dispatch_queued(session);
        return fail(error, e);
    } catch (const std::exception& e) {
        release_resources(mapping.get());
        return fail(error, EIO, e.what());
    }

    // The daemon says where in the fd the range lies; for sysfs fds that is
    // the BAR offset, for a future DMA-BUF fd it would be 0.
    mapping->address = ::mmap(address, mapping->length, PROT_READ | PROT_WRITE,
        MAP_SHARED | (address != nullptr ? MAP_FIXED : 0), mapping->fd, static_cast<off_t>(mapping->mmap_offset));
    if (mapping->address == MAP_FAILED) {
        const int saved = errno;
        const std::string lease_path = mapping->lease_path;
        wcbroker_unmap(mapping.release());
        return fail(error, saved, "mmap of " + lease_path + " failed: " + std::strerror(saved));
    }
    *out = mapping.release();
    dispatch_queued(session);
    return 0;
}

int wcbroker_list_grants(wcbroker_session* session, const char* device, unsigned bar, struct wcbroker_grant** grants,
    size_t* count, char** error)
{
    if (session == nullptr || device == nullptr || grants == nullptr || count == nullptr)
        return fail(error, EINVAL, "wcbroker_list_grants: session, device, grants and count must not be NULL");
    *grants = nullptr;
    *count = 0;
    std::vector<sdbus::Struct<std::uint64_t, std::uint64_t, std::string, std::string>> found;
    try {
        session->broker->callMethod("ListGrants")
            .onInterface(broker_interface)
            .withArguments(std::string(device), static_cast<std::uint32_t>(bar))
            .storeResultsTo(found);
    } catch (const sdbus::Error& e) {
        dispatch_queued(session);
        return fail(error, e);
    } catch (const std::exception& e) {
        return fail(error, EIO, e.what());
    }
    dispatch_queued(session);
    if (found.empty())
        return 0;
    auto* list = static_cast<struct wcbroker_grant*>(std::calloc(found.size(), sizeof(struct wcbroker_grant)));
    if (list == nullptr)
        return fail(error, ENOMEM, "wcbroker_list_grants: out of memory");
    for (std::size_t i = 0; i < found.size(); ++i) {
        list[i].offset = std::get<0>(found[i]);
        list[i].length = std::get<1>(found[i]);
        // The daemon speaks only these two; anything else would be a newer
        // access this library cannot map, so it is left out rather than guessed.
        const std::string& access = std::get<2>(found[i]);
        list[i].access = access == "write-combine" ? WCBROKER_WRITE_COMBINE : WCBROKER_UNCACHED;
        if (access != "write-combine" && access != "uncached") {
            std::free(list);
            return fail(error, EPROTO, "wcbrokerd granted an access this libwcbroker does not know: \"" + access + "\"");
        }
    }
    *grants = list;
    *count = found.size();
    return 0;
}

int wcbroker_unmap(wcbroker_mapping* mapping)
{
    if (mapping == nullptr)
        return -EINVAL;
    release_resources(mapping);
    int result = 0;
    if (!mapping->revoked && !mapping->lease_path.empty() && mapping->session != nullptr) {
        try {
            auto lease = wcbroker::sdbus_compat::make_proxy(*mapping->session->connection, service, mapping->lease_path);
            lease->callMethod("Release").onInterface(lease_interface);
        } catch (const sdbus::Error& e) {
            // Already gone (revoked just now, or the daemon restarted): nothing to release.
            if (e.getName() != "org.freedesktop.DBus.Error.UnknownObject"
                && e.getName() != "org.wcbroker.Error.NoSuchLease")
                result = -errno_for(e);
        }
    }
    wcbroker_session* session = mapping->session;
    if (session != nullptr)
        session->mappings.erase(mapping->lease_path);
    delete mapping;
    if (session != nullptr)
        dispatch_queued(session);
    return result;
}

void* wcbroker_mapping_address(const wcbroker_mapping* mapping)
{
    return mapping != nullptr && mapping->address != MAP_FAILED ? mapping->address : nullptr;
}

size_t wcbroker_mapping_length(const wcbroker_mapping* mapping)
{
    return mapping != nullptr ? mapping->length : 0;
}

const char* wcbroker_mapping_memtype(const wcbroker_mapping* mapping)
{
    return mapping != nullptr ? mapping->memtype.c_str() : nullptr;
}

const char* wcbroker_mapping_lease(const wcbroker_mapping* mapping)
{
    return mapping != nullptr ? mapping->lease_path.c_str() : nullptr;
}

const char* wcbroker_mapping_mechanism(const wcbroker_mapping* mapping)
{
    return mapping != nullptr ? mapping->mechanism.c_str() : nullptr;
}

const char* wcbroker_mapping_range_enforcement(const wcbroker_mapping* mapping)
{
    return mapping != nullptr ? mapping->range_enforcement.c_str() : nullptr;
}

int wcbroker_mapping_fd(const wcbroker_mapping* mapping)
{
    return mapping != nullptr ? mapping->fd : -1;
}

std::uint64_t wcbroker_mapping_fd_offset(const wcbroker_mapping* mapping)
{
    return mapping != nullptr ? mapping->mmap_offset : 0;
}

int wcbroker_mapping_revoked(const wcbroker_mapping* mapping)
{
    return mapping != nullptr && mapping->revoked ? 1 : 0;
}

const char* wcbroker_mapping_revoked_reason(const wcbroker_mapping* mapping)
{
    return mapping != nullptr && mapping->revoked ? mapping->revoked_reason.c_str() : nullptr;
}

void wcbroker_session_on_revoked(wcbroker_session* session, wcbroker_revoked_fn callback, void* userdata)
{
    if (session == nullptr)
        return;
    session->on_revoked = callback;
    session->on_revoked_userdata = userdata;
}

int wcbroker_session_fd(const wcbroker_session* session)
{
    if (session == nullptr)
        return -EINVAL;
    try {
        return session->connection->getEventLoopPollData().fd;
    } catch (const sdbus::Error& e) {
        return -errno_for(e);
    }
}

int wcbroker_session_process(wcbroker_session* session)
{
    if (session == nullptr)
        return -EINVAL;
    try {
        while (wcbroker::sdbus_compat::process_pending(*session->connection)) {
        }
        return 0;
    } catch (const sdbus::Error& e) {
        return -errno_for(e);
    }
}

} // extern "C"
