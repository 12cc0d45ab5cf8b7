#include "range-mapper.hpp"

#include "byte-size.hpp"
#include "iomem.hpp"
#include "sysfs-files.hpp"

namespace wcbroker {

RangeMapper::RangeMapper(KernelPaths paths, std::uint64_t page_size)
    : paths_(paths)
    , page_size_(page_size)
    , verifier_(std::move(paths))
{
}

std::optional<BrokerError> RangeMapper::check_bar(const DeviceFacts& device, std::uint32_t bar) const
{
    if (device.bar(bar) != nullptr)
        return std::nullopt;
    std::string present;
    for (const BarFacts& b : device.bars)
        present += (present.empty() ? "" : ", ") + std::to_string(b.index);
    return BrokerError{ErrorKind::InvalidRange, device.address + " has no BAR " + std::to_string(bar)
            + (present.empty() ? "; it has no memory BARs at all" : "; its BARs are " + present)};
}

std::optional<BrokerError> RangeMapper::check_range(const DeviceFacts& device, const AccessRequest& request) const
{
    if (auto no_bar = check_bar(device, request.bar))
        return no_bar;
    const BarFacts* bar = device.bar(request.bar);
    if (request.length == 0)
        return BrokerError{ErrorKind::InvalidRange, "length is 0; ask for at least one page (" + std::to_string(page_size_) + " bytes)"};
    if (request.offset % page_size_ != 0 || request.length % page_size_ != 0) {
        return BrokerError{ErrorKind::InvalidRange,
            "offset " + format_hex(request.offset) + " and length " + format_hex(request.length)
                + " must both be multiples of the page size (" + std::to_string(page_size_) + "): mappings are whole pages"};
    }
    if (!ByteRange{0, bar->size}.contains(request.offset, request.length)) {
        return BrokerError{ErrorKind::InvalidRange,
            "range [" + format_hex(request.offset) + ", +" + format_hex(request.length) + ") does not fit in BAR "
                + std::to_string(request.bar) + " of " + device.address + ", which is " + format_byte_size(bar->size)};
    }
    return std::nullopt;
}

void RangeMapper::use_wcalias(WcaliasControl* control)
{
    wcalias_ = control;
    wcalias_write_combine_.reset();
    wcalias_uncached_.reset();
    if (control != nullptr) {
        wcalias_write_combine_ = std::make_unique<WcaliasMechanism>(*control, Access::WriteCombine);
        wcalias_uncached_ = std::make_unique<WcaliasMechanism>(*control, Access::Uncached);
    }
}

Expected<const Mechanism*> RangeMapper::choose(const DeviceFacts& device, const AccessRequest& request,
    bool require_kernel_enforced_range) const
{
    const BarFacts* bar = device.bar(request.bar);
    if (bar == nullptr)
        return BrokerError{ErrorKind::InvalidRange, device.address + " has no BAR " + std::to_string(request.bar)};
    const bool write_combine = request.access == Access::WriteCombine;
    // The module first: it is the only mechanism that enforces the range
    // and can revoke a mapping.
    const Mechanism* kernel = write_combine ? wcalias_write_combine_.get() : wcalias_uncached_.get();
    std::string kernel_why = "the wcalias module was not opened";
    if (kernel != nullptr) {
        auto why = kernel->unsuitable(device, *bar);
        if (!why)
            return kernel;
        kernel_why = why->message;
    }
    if (require_kernel_enforced_range) {
        return BrokerError{ErrorKind::Unsupported,
            "a range the kernel enforces is required, which only the wcalias module gives (sysfs fds map the whole "
            "BAR), and it cannot serve this: " + kernel_why};
    }
    const Mechanism& mechanism = write_combine ? static_cast<const Mechanism&>(write_combine_)
                                               : static_cast<const Mechanism&>(uncached_);
    if (auto why = mechanism.unsuitable(device, *bar))
        return *why;
    return &mechanism;
}

std::vector<IomemEntry> RangeMapper::read_iomem() const
{
    auto text = read_text_file(paths_.proc_iomem(), 16 << 20);
    return text ? parse_iomem(*text) : std::vector<IomemEntry>{};
}

std::optional<std::string> RangeMapper::claimant(const DeviceFacts& device, const BarFacts& bar) const
{
    return bar_claimant(read_iomem(), device.address, bar.start, bar.size);
}

std::vector<std::optional<std::string>> RangeMapper::claimants(const DeviceFacts& device) const
{
    const std::vector<IomemEntry> entries = read_iomem();
    std::vector<std::optional<std::string>> holders;
    for (const BarFacts& bar : device.bars)
        holders.push_back(bar_claimant(entries, device.address, bar.start, bar.size));
    return holders;
}

Expected<MappedRange> RangeMapper::map(const DeviceFacts& device, std::uint64_t device_generation,
    const AccessRequest& request, bool require_kernel_enforced_range)
{
    auto chosen = choose(device, request, require_kernel_enforced_range);
    if (!chosen)
        return chosen.error();
    const Mechanism& mechanism = **chosen;
    const BarFacts& bar = *device.bar(request.bar);
    // The module's claim is wcbrokerd's own (made at bind); any other is a
    // driver's. The module checks claims itself, and refuses with its reason
    // (WCALIAS_WHY_BAR_BUSY).
    std::optional<std::string> holder;
    if (mechanism.range_enforcement() != RangeEnforcement::Kernel)
        holder = claimant(device, bar);
    if (holder && !is_wcalias_claim(*holder)) {
        return BrokerError{ErrorKind::Busy,
            "BAR " + std::to_string(bar.index) + " of " + device.address + " is claimed by " + *holder + " ("
                + describe_claimant(*holder)
                + "); while it is, the kernel refuses sysfs mappings of it and revokes existing ones. Map this BAR "
                  "only through wcbroker and retry after the VFIO user closes the device"};
    }
    auto opened = mechanism.open(paths_, device, bar, request.offset, request.length);
    if (!opened)
        return opened.error();

    MappedRange mapped;
    mapped.mechanism = &mechanism;
    if (opened->verification) {
        // The module read the type back for this very alias: nothing to cache.
        mapped.verification = std::move(*opened->verification);
        mapped.opened = std::move(*opened);
        return mapped;
    }
    const auto key = std::make_tuple(device.address, bar.index, mechanism.name());
    auto cached = verified_.find(key);
    if (cached != verified_.end() && cached->second.device_generation == device_generation) {
        // The memory type belongs to the file, not the range, but the detail
        // names the range that was looked up: say whose it is.
        mapped.verification = cached->second.verification;
        mapped.verification.detail = "as for an earlier mapping of this BAR through the same file: "
            + cached->second.verification.detail;
        mapped.verification_was_cached = true;
    } else {
        auto verified = verifier_.verify(opened->fd.get(), device, bar, opened->mmap_offset, opened->length);
        if (!verified)
            return verified.error();
        mapped.verification = *verified;
        verified_[key] = {device_generation, *verified};
    }
    mapped.opened = std::move(*opened);
    return mapped;
}

} // namespace wcbroker
