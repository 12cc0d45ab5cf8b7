// A kernel mechanism that turns (device, BAR, range) into a file descriptor a
// client can mmap with a given memory type. One implementation per
// mechanism; see docs/kernel-mechanisms.md for what each guarantees.
#pragma once

#include "access.hpp"
#include "broker-error.hpp"
#include "device-facts.hpp"
#include "expected.hpp"
#include "kernel-paths.hpp"
#include "memtype.hpp"
#include "unique-fd.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wcbroker {

enum class RangeEnforcement {
    Kernel,   // the fd cannot map beyond the granted range
    Advisory, // the fd maps the whole BAR; the range is a promise the client keeps
};

std::string_view range_enforcement_name(RangeEnforcement enforcement); // "kernel", "advisory"

struct OpenedRange {
    UniqueFd fd;
    std::string path; // the file fd is, for a restarted daemon to check against
    std::uint64_t mmap_offset = 0; // pass to mmap(2) as the offset
    std::uint64_t length = 0;
    // The wcalias module's id of the alias the fd is, so that ending the
    // lease can revoke it; 0 for mechanisms without aliases.
    std::uint64_t alias_id = 0;
    // The memory type the mechanism itself established (wcalias reads it
    // back from its own mapping); nullopt when the caller must verify it.
    std::optional<Verification> verification;
};

class Mechanism {
public:
    virtual ~Mechanism() = default;

    virtual std::string_view name() const = 0;
    virtual RangeEnforcement range_enforcement() const = 0;

    // Why this mechanism cannot serve this BAR, from the facts alone and
    // without side effects; nullopt when it can.
    virtual std::optional<BrokerError> unsuitable(const DeviceFacts& device, const BarFacts& bar) const = 0;

    // Opens an fd for [offset, offset + length) of the BAR. The caller has
    // checked the range against the BAR.
    virtual Expected<OpenedRange> open(const KernelPaths& paths, const DeviceFacts& device, const BarFacts& bar,
        std::uint64_t offset, std::uint64_t length) const = 0;
};

} // namespace wcbroker
