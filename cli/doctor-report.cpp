#include "doctor-report.hpp"

#include <algorithm>
#include <array>
#include <sstream>

namespace wcbroker::cli {
namespace {

std::string where_of(const DoctorCheck& check)
{
    if (check.device.empty())
        return "platform";
    return check.bar ? check.device + " BAR " + std::to_string(*check.bar) : check.device;
}

std::string padded(const std::string& text, std::size_t width)
{
    return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::array<std::size_t, 4> count_verdicts(const DoctorReport& report)
{
    std::array<std::size_t, 4> counts{};
    for (const DoctorCheck& check : report.checks)
        ++counts[static_cast<std::size_t>(check.verdict)];
    return counts;
}

} // namespace

std::string doctor_text(const DoctorReport& report)
{
    std::vector<const DoctorCheck*> ordered;
    for (const DoctorCheck& check : report.checks)
        ordered.push_back(&check);
    // Problems first; within a verdict, the report's own order.
    std::stable_sort(ordered.begin(), ordered.end(),
        [](const DoctorCheck* a, const DoctorCheck* b) { return a->verdict < b->verdict; });
    std::size_t where_width = 0, id_width = 0;
    for (const DoctorCheck* check : ordered) {
        where_width = std::max(where_width, where_of(*check).size());
        id_width = std::max(id_width, check->id.size());
    }
    std::ostringstream out;
    const std::string indent(8 + where_width + 2, ' ');
    for (const DoctorCheck* check : ordered) {
        out << padded(std::string(verdict_name(check->verdict)), 8) << padded(where_of(*check), where_width) << "  "
            << padded(check->id, id_width) << "  " << check->finding << "\n";
        out << indent << "read: " << check->file << ": " << check->value << "\n";
        if (!check->remedy.empty())
            out << indent << "do:   " << check->remedy << "\n";
    }
    const auto counts = count_verdicts(report);
    out << "\n" << counts[0] << " fail, " << counts[1] << " warn, " << counts[2] << " unknown, " << counts[3] << " ok\n";
    const auto not_run = report.not_run_without_root();
    if (!not_run.empty()) {
        out << "Not run without root:";
        for (const std::string& id : not_run)
            out << " " << id;
        out << "\n";
    }
    out << (report.healthy() ? "Everything the policy's grants need holds, as far as could be checked.\n"
                             : "Something the policy's grants need does not hold (the fail lines above).\n");
    return out.str();
}

toml::table doctor_json(const DoctorReport& report, bool root)
{
    toml::array checks;
    for (const DoctorCheck& check : report.checks) {
        toml::table entry{{"id", check.id}, {"device", check.device}, {"verdict", std::string(verdict_name(check.verdict))},
            {"finding", check.finding}, {"evidence", toml::table{{"file", check.file}, {"value", check.value}}},
            {"remedy", check.remedy}, {"needs_root", check.needs_root}};
        if (check.bar)
            entry.insert("bar", static_cast<std::int64_t>(*check.bar));
        checks.push_back(std::move(entry));
    }
    toml::array not_run;
    for (const std::string& id : report.not_run_without_root())
        not_run.push_back(id);
    const auto counts = count_verdicts(report);
    return toml::table{{"schema", doctor_json_schema}, {"healthy", report.healthy()}, {"root", root},
        {"counts", toml::table{{"fail", static_cast<std::int64_t>(counts[0])}, {"warn", static_cast<std::int64_t>(counts[1])},
                       {"unknown", static_cast<std::int64_t>(counts[2])}, {"ok", static_cast<std::int64_t>(counts[3])}}},
        {"not_run_without_root", std::move(not_run)}, {"checks", std::move(checks)}};
}

} // namespace wcbroker::cli
