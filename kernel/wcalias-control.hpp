// The wcalias module's control device, /dev/wcalias (kmod/uapi/wcalias.h is
// the contract): why it cannot be used when it cannot, and its requests
// (claim a BAR, create, revoke and query aliases) with failures turned into
// BrokerErrors that name the module's reason and say what to do.
//
// The ioctls sit behind WcaliasDevice, so that the logic above them (the
// mechanism, claims at bind, revocation, restore) is tested with a fake;
// wcbrokerd builds only the real one (wcalias_device_on()).
#pragma once

#include "access.hpp"
#include "broker-error.hpp"
#include "expected.hpp"
#include "kernel-paths.hpp"
#include "memtype.hpp"
#include "unique-fd.hpp"

#include "wcalias.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wcbroker {

// One open /dev/wcalias: a control context. Each call returns 0 or an errno.
class WcaliasDevice {
public:
    virtual ~WcaliasDevice() = default;
    virtual int fd() const = 0; // -1 when there is no real fd behind it
    virtual int version(wcalias_version& version) = 0;
    virtual int claim(wcalias_claim& claim) = 0;
    virtual int unclaim(wcalias_claim& claim) = 0;
    virtual int create(wcalias_create& create) = 0;
    virtual int revoke(std::uint64_t id) = 0;
    virtual int revoke_all() = 0;
    virtual int query(wcalias_query& query) = 0;
};

// The ioctls on FD, an open /dev/wcalias.
std::unique_ptr<WcaliasDevice> wcalias_device_on(UniqueFd fd);

// What KernelCapabilities and wcbrokerctl say about the module.
struct WcaliasStatus {
    bool loaded = false;         // /sys/module/wcalias is there
    std::string module_version;  // /sys/module/wcalias/version; "" when unknown
    std::uint32_t api_version = 0; // WCALIAS_IOC_VERSION's; 0 when it could not be asked
    bool usable = false;
    std::string why_unusable;    // "" when usable
};

struct WcaliasAlias {
    UniqueFd fd;
    std::uint64_t id = 0;
    Verification verification;
};

struct WcaliasAliasState {
    bool live = false;
    std::string revoked_because; // when not live
    std::uint64_t id = 0;
    bool own = false; // created by this control context
    std::uint32_t bar = 0;
    std::uint64_t offset = 0; // in the BAR
    std::uint64_t length = 0;
};

// "WCALIAS_WHY_BAR_BUSY: another driver (e.g. vfio-pci) holds the BAR".
std::string wcalias_why_text(std::uint32_t why);

class WcaliasControl {
public:
    // Opens PATHS' /dev/wcalias, or takes STORED (the fd a previous run left
    // in systemd's fd store) when it is valid. Never fails: an unusable
    // module is a state, with its reason.
    static std::unique_ptr<WcaliasControl> open(const KernelPaths& paths, UniqueFd stored = {});
    // On DEVICE as it is (tests pass a fake).
    WcaliasControl(std::unique_ptr<WcaliasDevice> device, WcaliasStatus status, bool from_store = false);
    // Not usable, for WHY.
    explicit WcaliasControl(WcaliasStatus status);

    bool usable() const { return device_ != nullptr && status_.usable; }
    const WcaliasStatus& status() const { return status_; }
    // "the wcalias module is not loaded (...)": for refusals. "" when usable.
    const std::string& why_unusable() const { return status_.why_unusable; }
    bool write_combining_possible() const { return (flags_ & WCALIAS_VERSION_PAT) != 0; }
    // The control fd, for the fd store; -1 when there is none.
    int fd() const { return device_ != nullptr ? device_->fd() : -1; }
    // Taken from the fd store: it is already there, and its aliases and claims are a predecessor's.
    bool from_store() const { return from_store_; }

    // Claims a whole BAR for this context (idempotent).
    Expected<bool> claim(const std::string& address, std::uint32_t bar);
    // Drops a claim; ErrorKind::Busy while aliases of the BAR live.
    Expected<bool> unclaim(const std::string& address, std::uint32_t bar);
    Expected<WcaliasAlias> create(const std::string& address, std::uint32_t bar, std::uint64_t offset,
        std::uint64_t length, Access access);
    // true when it was revoked now, false when there was none (the kernel
    // revoked it already: unbind, removal).
    Expected<bool> revoke(std::uint64_t id);
    Expected<bool> revoke_all();
    // What FD is; an error when it is not an alias at all.
    Expected<WcaliasAliasState> query(int fd);

private:
    // The module's name for BAR of ADDRESS, once the module is usable.
    Expected<wcalias_bar> target(const std::string& address, std::uint32_t bar) const;

    std::unique_ptr<WcaliasDevice> device_;
    WcaliasStatus status_;
    std::uint32_t flags_ = 0;
    bool from_store_ = false;
};

// The module as KernelCapabilities (a(sbs)) reports it, next to the VFIO
// features: "wcalias-module" (loaded, its version) and "wcalias" (usable by
// this daemon: its API version, or why not). CONTROL may be null (not opened).
struct WcaliasCapability {
    std::string name;
    bool available = false;
    std::string basis;
};
std::vector<WcaliasCapability> wcalias_capabilities(const WcaliasControl* control);

// ADDRESS ("0000:3b:00.0") and BAR as the module names a BAR; nullopt for
// an address that is not canonical.
std::optional<wcalias_bar> wcalias_bar_of(const std::string& address, std::uint32_t bar);

} // namespace wcbroker
