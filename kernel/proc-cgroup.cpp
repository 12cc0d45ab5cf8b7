#include "proc-cgroup.hpp"

#include "text-scan.hpp"

namespace wcbroker {

std::optional<std::string> parse_proc_cgroup(std::string_view text)
{
    std::optional<std::string> legacy;
    while (!text.empty()) {
        const std::string_view line = take_line(text);
        // "hierarchy-id:controllers:path"
        const auto first = line.find(':');
        const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
        if (second == std::string_view::npos)
            continue;
        const std::string_view controllers = line.substr(first + 1, second - first - 1);
        const std::string_view path = line.substr(second + 1);
        if (path.empty() || path.front() != '/')
            continue;
        if (line.substr(0, first) == "0" && controllers.empty())
            return std::string(path);
        if (controllers == "name=systemd")
            legacy = std::string(path);
    }
    return legacy;
}

std::optional<std::string> unit_of_cgroup(std::string_view path)
{
    while (!path.empty()) {
        const auto slash = path.find('/');
        const std::string_view component = path.substr(0, slash);
        path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
        if (component.empty() || component.ends_with(".slice"))
            continue;
        // The first component below the slices is where the system
        // manager's part of the tree ends; whatever lies below it, the
        // unit's processes may have named.
        if (component.ends_with(".service") || component.ends_with(".scope"))
            return std::string(component);
        return std::nullopt;
    }
    return std::nullopt;
}

} // namespace wcbroker
