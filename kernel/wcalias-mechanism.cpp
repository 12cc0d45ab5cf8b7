#include "wcalias-mechanism.hpp"

namespace wcbroker {

std::optional<BrokerError> WcaliasMechanism::unsuitable(const DeviceFacts& device, const BarFacts& bar) const
{
    if (!control_.usable())
        return BrokerError{ErrorKind::Unsupported, control_.why_unusable()};
    const std::string which = "BAR " + std::to_string(bar.index) + " of " + device.address;
    if (!bar.is_memory()) {
        return BrokerError{ErrorKind::Unsupported,
            which + " is an I/O port BAR, which cannot be memory-mapped; only memory BARs can be leased"};
    }
    if (access_ == Access::WriteCombine && !bar.prefetchable) {
        return BrokerError{ErrorKind::Unsupported,
            which + " is not prefetchable, and the kernel maps only prefetchable memory BARs write-combining; ask "
                    "for uncached access instead"};
    }
    if (access_ == Access::WriteCombine && !control_.write_combining_possible()) {
        return BrokerError{ErrorKind::Unsupported,
            "the wcalias module reports that this CPU's PAT is disabled, so nothing can be mapped "
            "write-combining; ask for uncached access instead"};
    }
    return std::nullopt;
}

Expected<OpenedRange> WcaliasMechanism::open(const KernelPaths&, const DeviceFacts& device, const BarFacts& bar,
    std::uint64_t offset, std::uint64_t length) const
{
    auto alias = control_.create(device.address, bar.index, offset, length, access_);
    if (!alias)
        return alias.error();
    OpenedRange opened;
    opened.fd = std::move(alias->fd);
    opened.path = "wcalias:" + std::to_string(alias->id);
    opened.mmap_offset = 0; // the alias starts at the range's first byte
    opened.length = length;
    opened.alias_id = alias->id;
    opened.verification = std::move(alias->verification);
    return opened;
}

} // namespace wcbroker
