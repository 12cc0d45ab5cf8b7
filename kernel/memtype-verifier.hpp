// Establishes the memory type the kernel really gives a mapping: map the
// range the way a client will, read the PAT memtype list while the mapping
// is alive, unmap. Asking for write-combining proves nothing (PAT may be off,
// or an existing uncached reservation silently wins); the list is the truth
// (kernel-facts.md 2).
#pragma once

#include "device-facts.hpp"
#include "expected.hpp"
#include "kernel-paths.hpp"
#include "memtype.hpp"

#include <cstdint>
#include <string>

namespace wcbroker {

class MemtypeVerifier {
public:
    explicit MemtypeVerifier(KernelPaths paths)
        : paths_(std::move(paths))
    {
    }

    // A failing mmap is an error, not an unverified result: the client's own
    // mmap of the same fd would fail the same way.
    Expected<Verification> verify(int fd, const DeviceFacts& device, const BarFacts& bar, std::uint64_t mmap_offset,
        std::uint64_t length) const;

private:
    KernelPaths paths_;
};

} // namespace wcbroker
