#include "wcalias-control.hpp"

#include "platform-facts.hpp"
#include "sysfs-files.hpp"
#include "text-scan.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace wcbroker {
namespace {

class IoctlWcaliasDevice final : public WcaliasDevice {
public:
    explicit IoctlWcaliasDevice(UniqueFd fd)
        : fd_(std::move(fd))
    {
    }

    int fd() const override { return fd_.get(); }
    int version(wcalias_version& version) override { return call(WCALIAS_IOC_VERSION, &version); }
    int claim(wcalias_claim& claim) override { return call(WCALIAS_IOC_CLAIM, &claim); }
    int unclaim(wcalias_claim& claim) override { return call(WCALIAS_IOC_UNCLAIM, &claim); }
    int create(wcalias_create& create) override { return call(WCALIAS_IOC_CREATE, &create); }
    int revoke(std::uint64_t id) override { return call(WCALIAS_IOC_REVOKE, &id); }
    int revoke_all() override { return call(WCALIAS_IOC_REVOKE_ALL, nullptr); }
    int query(wcalias_query& query) override { return call(WCALIAS_IOC_QUERY, &query); }

private:
    int call(unsigned long request, void* argument)
    {
        int r;
        do
            r = ::ioctl(fd_.get(), request, argument);
        while (r < 0 && errno == EINTR);
        return r < 0 ? errno : 0;
    }

    UniqueFd fd_;
};

// "integrity" when lockdown is on, "" when it is off or unknown.
std::string lockdown_mode(const KernelPaths& paths)
{
    const std::string mode = selected_lockdown_mode(read_text_file(paths.kernel_lockdown(), 4096).value_or("")).value_or("");
    return mode == "none" ? "" : mode;
}

std::string describe_failure(const char* what, int error, std::uint32_t why)
{
    std::string text = std::string(what) + ": " + std::strerror(error);
    if (why != WCALIAS_WHY_NONE)
        text += " (" + wcalias_why_text(why) + ")";
    return text;
}

// The kind of refusal a client gets for the module's reason.
ErrorKind kind_of(int error, std::uint32_t why)
{
    switch (why) {
    case WCALIAS_WHY_NO_DEVICE:
    case WCALIAS_WHY_NO_VFIO_DRIVER:
        return ErrorKind::NoSuchDevice;
    case WCALIAS_WHY_BAD_RANGE:
        return ErrorKind::InvalidRange;
    case WCALIAS_WHY_BAR_BUSY:
    case WCALIAS_WHY_OTHER_CONTEXT:
    case WCALIAS_WHY_TYPE_CONFLICT:
        return ErrorKind::Busy;
    case WCALIAS_WHY_LIMIT:
        return ErrorKind::LimitExceeded;
    case WCALIAS_WHY_NOT_MEMORY_BAR:
    case WCALIAS_WHY_NOT_PREFETCH:
    case WCALIAS_WHY_DOWNGRADED:
    case WCALIAS_WHY_NO_PAT:
    case WCALIAS_WHY_LOCKDOWN:
        return ErrorKind::Unsupported;
    default:
        break;
    }
    if (error == ENODEV || error == ENOENT)
        return ErrorKind::NoSuchDevice;
    if (error == EBUSY)
        return ErrorKind::Busy;
    return ErrorKind::Failed;
}

// What the admin or client can do about it.
std::string advice(std::uint32_t why)
{
    switch (why) {
    case WCALIAS_WHY_NO_VFIO_DRIVER:
        return "; bind the device to vfio-pci";
    case WCALIAS_WHY_BAR_BUSY:
        return "; a VFIO user opened this BAR first: retry after it closes the device, and keep VFIO users to the "
               "device's other BARs";
    case WCALIAS_WHY_OTHER_CONTEXT:
        return "; another process has /dev/wcalias open and holds this BAR: only wcbrokerd should use the module";
    case WCALIAS_WHY_TYPE_CONFLICT:
        return "; one page cannot be mapped with two memory types: wait for the other lease to end";
    case WCALIAS_WHY_DOWNGRADED:
        return "; the kernel would give this range another memory type (an existing mapping of it wins), and "
               "wcalias refuses rather than hand that out";
    case WCALIAS_WHY_NO_PAT:
        return "; write-combining needs PAT (boot without nopat); ask for uncached access instead";
    case WCALIAS_WHY_NOT_PREFETCH:
        return "; ask for uncached access instead";
    case WCALIAS_WHY_LIMIT:
        return "; release a lease first";
    default:
        return "";
    }
}

} // namespace

std::string wcalias_why_text(std::uint32_t why)
{
    switch (why) {
    case WCALIAS_WHY_NONE: return "WCALIAS_WHY_NONE";
    case WCALIAS_WHY_NO_DEVICE: return "WCALIAS_WHY_NO_DEVICE: no PCI device at that address";
    case WCALIAS_WHY_NO_VFIO_DRIVER: return "WCALIAS_WHY_NO_VFIO_DRIVER: the device is not bound to vfio-pci";
    case WCALIAS_WHY_NOT_MEMORY_BAR: return "WCALIAS_WHY_NOT_MEMORY_BAR: the BAR is absent, empty or an I/O port BAR";
    case WCALIAS_WHY_NOT_PREFETCH: return "WCALIAS_WHY_NOT_PREFETCH: write-combining needs a prefetchable BAR";
    case WCALIAS_WHY_BAD_RANGE: return "WCALIAS_WHY_BAD_RANGE: not page-aligned, empty, or outside the BAR";
    case WCALIAS_WHY_BAR_BUSY: return "WCALIAS_WHY_BAR_BUSY: another driver (e.g. vfio-pci) holds the BAR";
    case WCALIAS_WHY_OTHER_CONTEXT: return "WCALIAS_WHY_OTHER_CONTEXT: another control context has claimed the BAR";
    case WCALIAS_WHY_TYPE_CONFLICT: return "WCALIAS_WHY_TYPE_CONFLICT: a live alias of another type overlaps the range";
    case WCALIAS_WHY_DOWNGRADED: return "WCALIAS_WHY_DOWNGRADED: the kernel would map it with another memory type";
    case WCALIAS_WHY_NO_PAT: return "WCALIAS_WHY_NO_PAT: the CPU's PAT is disabled";
    case WCALIAS_WHY_LIMIT: return "WCALIAS_WHY_LIMIT: too many aliases for this context or device";
    case WCALIAS_WHY_LOCKDOWN: return "WCALIAS_WHY_LOCKDOWN: kernel lockdown forbids PCI BAR access";
    default: return "wcalias reason " + std::to_string(why);
    }
}

std::vector<WcaliasCapability> wcalias_capabilities(const WcaliasControl* control)
{
    if (control == nullptr)
        return {{"wcalias-module", false, "not looked for"}, {"wcalias", false, "wcbrokerd did not open /dev/wcalias"}};
    const WcaliasStatus& status = control->status();
    std::vector<WcaliasCapability> capabilities;
    capabilities.push_back({"wcalias-module", status.loaded,
        status.loaded ? "loaded, version " + (status.module_version.empty() ? std::string("unknown") : status.module_version)
                : std::string("not loaded (no /sys/module/wcalias)")});
    if (control->usable()) {
        capabilities.push_back({"wcalias", true,
            "API version " + std::to_string(status.api_version)
                + ": leases get kernel-enforced, revocable ranges"
                + (control->write_combining_possible() ? "" : " (uncached only: PAT is disabled)")});
    } else {
        capabilities.push_back({"wcalias", false, status.why_unusable});
    }
    return capabilities;
}

std::unique_ptr<WcaliasDevice> wcalias_device_on(UniqueFd fd)
{
    return std::make_unique<IoctlWcaliasDevice>(std::move(fd));
}

std::optional<wcalias_bar> wcalias_bar_of(const std::string& address, std::uint32_t bar)
{
    // "dddd:bb:ss.f", as canonical_pci_address() writes it.
    if (address.size() != 12 || address[4] != ':' || address[7] != ':' || address[10] != '.' || bar > 5)
        return std::nullopt;
    const auto domain = parse_whole_number<std::uint32_t>(std::string_view(address).substr(0, 4), 16);
    const auto bus = parse_whole_number<std::uint32_t>(std::string_view(address).substr(5, 2), 16);
    const auto slot = parse_whole_number<std::uint32_t>(std::string_view(address).substr(8, 2), 16);
    const auto function = parse_whole_number<std::uint32_t>(std::string_view(address).substr(11, 1), 16);
    if (!domain || !bus || !slot || !function || *slot > 31 || *function > 7)
        return std::nullopt;
    wcalias_bar result{};
    result.domain = *domain;
    result.bus = static_cast<__u8>(*bus);
    result.devfn = static_cast<__u8>((*slot << 3) | *function);
    result.bar = static_cast<__u8>(bar);
    return result;
}

std::unique_ptr<WcaliasControl> WcaliasControl::open(const KernelPaths& paths, UniqueFd stored)
{
    WcaliasStatus status;
    status.loaded = ::access(paths.wcalias_module().c_str(), F_OK) == 0;
    status.module_version = trimmed(read_text_file(paths.wcalias_module() + "/version", 256).value_or(""));
    if (stored.valid())
        return std::make_unique<WcaliasControl>(wcalias_device_on(std::move(stored)), status, true);

    const std::string device = paths.wcalias_device();
    UniqueFd fd(::open(device.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (fd.valid())
        return std::make_unique<WcaliasControl>(wcalias_device_on(std::move(fd)), status);
    const int error = errno;
    if (error == ENOENT || error == ENXIO || error == ENODEV) {
        const std::string lockdown = lockdown_mode(paths);
        if (status.loaded)
            status.why_unusable = "the wcalias module is loaded but " + device + " is missing (" + std::strerror(error)
                + "); check udev and that the service may see the device (DeviceAllow=)";
        else if (!lockdown.empty())
            status.why_unusable = "the wcalias module is not loaded, and kernel lockdown (" + lockdown
                + ") would refuse it anyway, as it refuses sysfs resource mappings";
        else
            status.why_unusable = "the wcalias module is not loaded (modprobe wcalias; install it with DKMS, see docs/admin.md)";
    } else if (error == EACCES || error == EPERM) {
        const std::string lockdown = lockdown_mode(paths);
        status.why_unusable = !lockdown.empty()
            ? "kernel lockdown (" + lockdown + ") keeps " + device + " closed, as it does sysfs resource files"
            : "cannot open " + device + ": " + std::strerror(error)
                + " (wcbrokerd needs root with CAP_SYS_RAWIO, and DeviceAllow=" + device + " rw in its unit)";
    } else {
        status.why_unusable = "cannot open " + device + ": " + std::strerror(error);
    }
    return std::make_unique<WcaliasControl>(std::move(status));
}

WcaliasControl::WcaliasControl(std::unique_ptr<WcaliasDevice> device, WcaliasStatus status, bool from_store)
    : device_(std::move(device))
    , status_(std::move(status))
    , from_store_(from_store)
{
    wcalias_version version{};
    if (const int error = device_->version(version); error != 0) {
        status_.usable = false;
        status_.why_unusable = std::string("the wcalias module does not answer WCALIAS_IOC_VERSION: ") + std::strerror(error);
        return;
    }
    status_.api_version = version.api_version;
    flags_ = version.flags;
    if (version.api_version != WCALIAS_API_VERSION) {
        status_.usable = false;
        status_.why_unusable = "the wcalias module speaks API version " + std::to_string(version.api_version)
            + " and this wcbrokerd speaks " + std::to_string(WCALIAS_API_VERSION)
            + "; install the module that came with this wcbrokerd";
        return;
    }
    status_.usable = true;
    status_.why_unusable.clear();
}

WcaliasControl::WcaliasControl(WcaliasStatus status)
    : status_(std::move(status))
{
    status_.usable = false;
}

Expected<wcalias_bar> WcaliasControl::target(const std::string& address, std::uint32_t bar) const
{
    if (!usable())
        return BrokerError{ErrorKind::Unsupported, status_.why_unusable};
    auto which = wcalias_bar_of(address, bar);
    if (!which)
        return BrokerError{ErrorKind::InvalidArgument, address + " is not a PCI address"};
    return *which;
}

Expected<bool> WcaliasControl::claim(const std::string& address, std::uint32_t bar)
{
    auto which = target(address, bar);
    if (!which)
        return which.error();
    wcalias_claim request{};
    request.bar = *which;
    if (const int error = device_->claim(request); error != 0) {
        return BrokerError{kind_of(error, request.why),
            describe_failure(("cannot claim BAR " + std::to_string(bar) + " of " + address).c_str(), error, request.why)
                + advice(request.why)};
    }
    return true;
}

Expected<bool> WcaliasControl::unclaim(const std::string& address, std::uint32_t bar)
{
    auto which = target(address, bar);
    if (!which)
        return which.error();
    wcalias_claim request{};
    request.bar = *which;
    if (const int error = device_->unclaim(request); error != 0) {
        return BrokerError{error == EBUSY ? ErrorKind::Busy : kind_of(error, request.why),
            describe_failure(("cannot drop the claim on BAR " + std::to_string(bar) + " of " + address).c_str(), error,
                request.why)};
    }
    return true;
}

Expected<WcaliasAlias> WcaliasControl::create(const std::string& address, std::uint32_t bar, std::uint64_t offset,
    std::uint64_t length, Access access)
{
    auto which = target(address, bar);
    if (!which)
        return which.error();
    wcalias_create request{};
    request.bar = *which;
    request.memtype = access == Access::WriteCombine ? WCALIAS_MEMTYPE_WC : WCALIAS_MEMTYPE_UC_MINUS;
    request.offset = offset;
    request.length = length;
    request.fd = -1;
    if (const int error = device_->create(request); error != 0) {
        return BrokerError{kind_of(error, request.why),
            describe_failure(("the wcalias module refused an alias of BAR " + std::to_string(bar) + " of " + address).c_str(),
                error, request.why)
                + advice(request.why)};
    }
    WcaliasAlias alias;
    alias.fd = UniqueFd(request.fd);
    alias.id = request.id;
    switch (request.effective) {
    case WCALIAS_MEMTYPE_WC:
        alias.verification = {Memtype::WriteCombining,
            "the wcalias module read write-combining back from its own mapping of exactly this range"};
        break;
    case WCALIAS_MEMTYPE_UC_MINUS:
        alias.verification = {Memtype::UncachedMinus,
            "the wcalias module read uncached-minus back from its own mapping of exactly this range"};
        break;
    default:
        alias.verification = {Memtype::Unverified,
            "the wcalias module cannot read the memory type back on this architecture"};
        break;
    }
    // The module refuses a downgrade; a type other than the one asked for
    // would be a broken module, and is never handed out as asked.
    if ((access == Access::WriteCombine && alias.verification.memtype == Memtype::UncachedMinus)
        || (access == Access::Uncached && alias.verification.memtype == Memtype::WriteCombining)) {
        device_->revoke(alias.id);
        return BrokerError{ErrorKind::Failed,
            "the wcalias module answered with memory type " + std::string(memtype_name(alias.verification.memtype))
                + " for a request of " + std::string(access_name(access)) + "; nothing was handed out"};
    }
    if (!alias.fd.valid())
        return BrokerError{ErrorKind::Failed, "the wcalias module returned no fd for alias " + std::to_string(request.id)};
    return alias;
}

Expected<bool> WcaliasControl::revoke(std::uint64_t id)
{
    if (device_ == nullptr)
        return BrokerError{ErrorKind::Unsupported, status_.why_unusable};
    const int error = device_->revoke(id);
    if (error == ENOENT)
        return false;
    if (error != 0)
        return BrokerError{ErrorKind::Failed, "cannot revoke wcalias alias " + std::to_string(id) + ": " + std::strerror(error)};
    return true;
}

Expected<bool> WcaliasControl::revoke_all()
{
    if (device_ == nullptr)
        return BrokerError{ErrorKind::Unsupported, status_.why_unusable};
    if (const int error = device_->revoke_all(); error != 0)
        return BrokerError{ErrorKind::Failed, std::string("cannot revoke the wcalias aliases: ") + std::strerror(error)};
    return true;
}

Expected<WcaliasAliasState> WcaliasControl::query(int fd)
{
    if (device_ == nullptr)
        return BrokerError{ErrorKind::Unsupported, status_.why_unusable};
    wcalias_query request{};
    request.fd = fd;
    if (const int error = device_->query(request); error != 0) {
        return BrokerError{ErrorKind::Failed,
            error == EINVAL ? std::string("the fd is not a wcalias alias")
                            : std::string("WCALIAS_IOC_QUERY failed: ") + std::strerror(error)};
    }
    WcaliasAliasState state;
    state.live = request.revoked == WCALIAS_LIVE;
    state.id = request.id;
    state.own = request.own != 0;
    state.bar = request.bar.bar;
    state.offset = request.offset;
    state.length = request.length;
    switch (request.revoked) {
    case WCALIAS_LIVE: break;
    case WCALIAS_REVOKED_BY_REQUEST: state.revoked_because = "it was revoked on request"; break;
    case WCALIAS_REVOKED_CONTEXT: state.revoked_because = "its control context was closed"; break;
    case WCALIAS_REVOKED_UNBIND: state.revoked_because = "the device's driver unbound"; break;
    case WCALIAS_REVOKED_REMOVAL: state.revoked_because = "the device was removed"; break;
    default: state.revoked_because = "it was revoked (reason " + std::to_string(request.revoked) + ")"; break;
    }
    return state;
}

} // namespace wcbroker
