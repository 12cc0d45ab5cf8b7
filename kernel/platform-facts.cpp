#include "platform-facts.hpp"

#include "sysfs-files.hpp"
#include "text-scan.hpp"

#include <cerrno>

namespace wcbroker {
namespace {

FileReading trimmed_reading(const std::string& path, std::size_t limit)
{
    FileReading reading = read_file_reading(path, limit);
    if (reading.text)
        reading.text = trimmed(*reading.text);
    return reading;
}

// cpuinfo repeats its flags once per CPU; one line is the evidence.
FileReading first_flags_line(const KernelPaths& paths)
{
    FileReading reading = read_file_reading(paths.proc_cpuinfo(), 16 << 20);
    if (!reading.text)
        return reading;
    std::string_view text = *reading.text;
    std::string flags;
    while (!text.empty()) {
        const std::string_view line = take_line(text);
        if (line.starts_with("flags")) {
            const auto colon = line.find(':');
            flags = std::string(colon == std::string_view::npos ? line : line.substr(colon + 1));
            break;
        }
    }
    reading.text = flags;
    return reading;
}

FileReading directory_listing(const std::string& path)
{
    FileReading reading;
    reading.path = path;
    auto names = list_directory(path);
    if (!names) {
        reading.error = errno;
        return reading;
    }
    std::string text;
    for (const std::string& name : *names)
        text += name + "\n";
    reading.text = text;
    return reading;
}

} // namespace

PlatformFacts read_platform_facts(const KernelPaths& paths)
{
    PlatformFacts facts;
    facts.release = trimmed_reading(paths.kernel_release(), 4096);
    facts.cmdline = trimmed_reading(paths.proc_cmdline(), 65536);
    facts.cpu_flags = first_flags_line(paths);
    facts.pat_list = read_file_reading(paths.pat_memtype_list(), 16 << 20);
    const std::string list = paths.pat_memtype_list();
    facts.debugfs_x86 = path_exists(list.substr(0, list.rfind('/')));
    facts.lockdown = trimmed_reading(paths.kernel_lockdown(), 4096);
    const std::string lockdown = paths.kernel_lockdown();
    facts.securityfs = !list_directory(lockdown.substr(0, lockdown.rfind('/'))).value_or(std::vector<std::string>{}).empty();
    facts.config = read_file_reading(paths.boot_config(facts.release.text.value_or("unknown")), 4 << 20);
    facts.config_gz = path_exists(paths.proc_config_gz());
    facts.iommu_groups = directory_listing(paths.iommu_groups());
    return facts;
}

std::optional<std::string> selected_lockdown_mode(std::string_view text)
{
    const auto open = text.find('[');
    const auto close = text.find(']', open);
    if (open == std::string_view::npos || close == std::string_view::npos)
        return std::nullopt;
    return std::string(text.substr(open + 1, close - open - 1));
}

bool has_word(std::string_view text, std::string_view word)
{
    while (!text.empty()) {
        const auto space = text.find_first_of(" \t\n");
        if (text.substr(0, space) == word)
            return true;
        if (space == std::string_view::npos)
            break;
        text.remove_prefix(space + 1);
    }
    return false;
}

std::optional<std::string> kernel_config_value(std::string_view config, std::string_view name)
{
    const std::string assignment = std::string(name) + "=";
    const std::string unset = "# " + std::string(name) + " is not set";
    while (!config.empty()) {
        const std::string_view line = take_line(config);
        if (line.starts_with(assignment))
            return std::string(line.substr(assignment.size()));
        if (line == unset)
            return std::string("n");
    }
    return std::nullopt;
}

} // namespace wcbroker
