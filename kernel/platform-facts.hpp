// What the running kernel and CPU offer for write-combining, read as files
// for wcbrokerctl doctor: PAT (kernel-facts.md 2), lockdown (1),
// CONFIG_IO_STRICT_DEVMEM and the kernel line (3, 3b), the IOMMU. The
// parsers are pure, so the verdicts drawn from them are tested on text.
#pragma once

#include "file-reading.hpp"
#include "kernel-paths.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wcbroker {

struct PlatformFacts {
    FileReading release;      // /proc/sys/kernel/osrelease
    FileReading cmdline;      // /proc/cmdline
    FileReading cpu_flags;    // the first "flags" line of /proc/cpuinfo
    FileReading pat_list;     // debugfs x86/pat_memtype_list: the kernel makes it only when PAT is on
    bool debugfs_x86 = false; // its directory exists: debugfs is mounted, and the list's absence means no PAT
    FileReading lockdown;     // securityfs lockdown
    bool securityfs = false;  // securityfs is mounted (not empty): a missing lockdown file then means no lockdown LSM
    FileReading config;       // /boot/config-RELEASE
    bool config_gz = false;   // /proc/config.gz exists (not decompressed)
    FileReading iommu_groups; // the directory; text is the group names, one a line
};

PlatformFacts read_platform_facts(const KernelPaths& paths);

// "none [integrity] confidentiality" -> "integrity"; nullopt when no word is selected.
std::optional<std::string> selected_lockdown_mode(std::string_view text);
// Whether WORD is one of the space-separated words of TEXT (a command line, a flags line).
bool has_word(std::string_view text, std::string_view word);
// "y", "m", a value, or "n" for "# NAME is not set"; nullopt when NAME is absent.
std::optional<std::string> kernel_config_value(std::string_view config, std::string_view name);

} // namespace wcbroker
