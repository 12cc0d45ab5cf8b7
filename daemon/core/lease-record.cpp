#include "lease-record.hpp"

#include "pci-address.hpp"
#include "text-scan.hpp"

#include <limits>
#include <map>
#include <optional>

namespace wcbroker {
namespace {

constexpr std::string_view format_version = "1";

std::string escape(std::string_view value)
{
    std::string escaped;
    for (char c : value) {
        if (c == '\\')
            escaped += "\\\\";
        else if (c == '\n')
            escaped += "\\n";
        else
            escaped += c;
    }
    return escaped;
}

std::optional<std::string> unescape(std::string_view value)
{
    std::string plain;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] != '\\') {
            plain += value[i];
            continue;
        }
        if (++i == value.size())
            return std::nullopt;
        if (value[i] == '\\')
            plain += '\\';
        else if (value[i] == 'n')
            plain += '\n';
        else
            return std::nullopt;
    }
    return plain;
}

std::optional<std::vector<gid_t>> split_gids(std::string_view text)
{
    std::vector<gid_t> gids;
    while (!text.empty()) {
        const auto comma = text.find(',');
        auto gid = parse_whole_number<gid_t>(text.substr(0, comma));
        if (!gid)
            return std::nullopt;
        gids.push_back(*gid);
        if (comma == std::string_view::npos)
            break;
        text.remove_prefix(comma + 1);
        if (text.empty())
            return std::nullopt;
    }
    return gids;
}

// The record's lines as a map, or the first line that is not "key=value".
std::variant<std::map<std::string, std::string>, std::string> split_lines(std::string_view text)
{
    std::map<std::string, std::string> values;
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const std::string_view line = take_line(text);
        if (line.empty())
            continue;
        const auto equals = line.find('=');
        if (equals == std::string_view::npos || equals == 0)
            return "line " + std::to_string(number) + " is not key=value";
        auto value = unescape(line.substr(equals + 1));
        if (!value)
            return "line " + std::to_string(number) + " has a bad escape";
        if (!values.emplace(std::string(line.substr(0, equals)), std::move(*value)).second)
            return "line " + std::to_string(number) + " repeats the key " + std::string(line.substr(0, equals));
    }
    return values;
}

class Fields {
public:
    explicit Fields(std::map<std::string, std::string> values)
        : values_(std::move(values))
    {
    }

    const std::string* text(const std::string& key)
    {
        auto found = values_.find(key);
        if (found == values_.end()) {
            fail("no " + key + "=");
            return nullptr;
        }
        return &found->second;
    }
    std::optional<std::string> optional_text(const std::string& key) const
    {
        auto found = values_.find(key);
        return found == values_.end() ? std::nullopt : std::optional<std::string>(found->second);
    }
    template <typename Number>
    Number number(const std::string& key)
    {
        const std::string* value = text(key);
        if (value == nullptr)
            return 0;
        auto parsed = parse_whole_number<Number>(*value);
        if (!parsed) {
            fail(key + "=" + *value + " is not a number in range");
            return 0;
        }
        return *parsed;
    }
    void fail(std::string problem)
    {
        if (problem_.empty())
            problem_ = std::move(problem);
    }
    const std::string& problem() const { return problem_; }

private:
    std::map<std::string, std::string> values_;
    std::string problem_;
};

} // namespace

std::string format_lease_record(const LeaseInfo& lease, std::string_view bus_id)
{
    std::string text;
    auto line = [&text](std::string_view key, std::string_view value) {
        text += key;
        text += '=';
        text += escape(value);
        text += '\n';
    };
    line("version", format_version);
    line("id", std::to_string(lease.id));
    line("owner", lease.owner);
    line("bus_id", bus_id);
    line("uid", std::to_string(lease.holder.uid));
    line("gids", gid_list(lease.holder.gids));
    line("pid", std::to_string(lease.holder.pid));
    if (lease.holder.systemd_unit)
        line("unit", *lease.holder.systemd_unit);
    if (lease.holder.cgroup)
        line("cgroup", *lease.holder.cgroup);
    line("device", lease.address);
    line("bar", std::to_string(lease.request.bar));
    line("offset", std::to_string(lease.request.offset));
    line("length", std::to_string(lease.request.length));
    line("access", access_name(lease.request.access));
    line("memtype", memtype_name(lease.memtype));
    line("verification", lease.verification);
    line("mechanism", lease.mechanism);
    line("range_enforcement", range_enforcement_name(lease.range_enforcement));
    line("rule", lease.rule);
    line("rule_label", lease.rule_label);
    line("label", lease.label);
    line("client_requires_verified_wc", lease.client_requires_verified_wc ? "1" : "0");
    line("created_realtime_usec", std::to_string(lease.created_realtime_usec));
    line("file", lease.file.path);
    line("file_device", std::to_string(lease.file.device));
    line("file_inode", std::to_string(lease.file.inode));
    if (lease.alias_id != 0)
        line("alias_id", std::to_string(lease.alias_id));
    return text;
}

std::variant<LeaseRecord, std::string> parse_lease_record(std::string_view text)
{
    auto lines = split_lines(text);
    if (auto* problem = std::get_if<std::string>(&lines))
        return *problem;
    Fields fields(std::move(std::get<0>(lines)));

    if (const std::string* version = fields.text("version"); version != nullptr && *version != format_version)
        return "version " + *version + " is not one this wcbrokerd reads (" + std::string(format_version) + ")";

    LeaseRecord record;
    LeaseInfo& lease = record.lease;
    lease.id = fields.number<std::uint64_t>("id");
    if (const std::string* owner = fields.text("owner"))
        lease.owner = *owner;
    if (const std::string* bus_id = fields.text("bus_id"))
        record.bus_id = *bus_id;
    lease.holder.uid = fields.number<uid_t>("uid");
    if (const std::string* gids = fields.text("gids")) {
        if (auto parsed = split_gids(*gids))
            lease.holder.gids = std::move(*parsed);
        else
            fields.fail("gids=" + *gids + " is not a comma-separated list of numbers");
    }
    lease.holder.pid = fields.number<pid_t>("pid");
    lease.holder.systemd_unit = fields.optional_text("unit");
    lease.holder.cgroup = fields.optional_text("cgroup");
    if (const std::string* device = fields.text("device")) {
        if (auto address = canonical_pci_address(*device))
            lease.address = *address;
        else
            fields.fail("device=" + *device + " is not a PCI address");
    }
    lease.request.bar = fields.number<std::uint32_t>("bar");
    lease.request.offset = fields.number<std::uint64_t>("offset");
    lease.request.length = fields.number<std::uint64_t>("length");
    if (const std::string* access = fields.text("access")) {
        if (auto parsed = parse_access(*access))
            lease.request.access = *parsed;
        else
            fields.fail("access=" + *access + " is neither write-combine nor uncached");
    }
    if (const std::string* memtype = fields.text("memtype")) {
        if (auto parsed = parse_memtype_name(*memtype))
            lease.memtype = *parsed;
        else
            fields.fail("memtype=" + *memtype + " is not a memory type");
    }
    lease.verification = fields.optional_text("verification").value_or("");
    if (const std::string* mechanism = fields.text("mechanism"))
        lease.mechanism = *mechanism;
    if (const std::string* enforcement = fields.text("range_enforcement")) {
        if (*enforcement == range_enforcement_name(RangeEnforcement::Kernel))
            lease.range_enforcement = RangeEnforcement::Kernel;
        else if (*enforcement == range_enforcement_name(RangeEnforcement::Advisory))
            lease.range_enforcement = RangeEnforcement::Advisory;
        else
            fields.fail("range_enforcement=" + *enforcement + " is neither kernel nor advisory");
    }
    lease.rule = fields.optional_text("rule").value_or("");
    lease.rule_label = fields.optional_text("rule_label").value_or("");
    lease.label = fields.optional_text("label").value_or("");
    lease.client_requires_verified_wc = fields.optional_text("client_requires_verified_wc") == "1";
    lease.created_realtime_usec = fields.number<std::uint64_t>("created_realtime_usec");
    if (const std::string* file = fields.text("file"))
        lease.file.path = *file;
    lease.file.device = fields.number<std::uint64_t>("file_device");
    lease.file.inode = fields.number<std::uint64_t>("file_inode");
    // Only wcalias leases have one; an older daemon's records never do.
    if (auto alias = fields.optional_text("alias_id")) {
        if (auto id = parse_whole_number<std::uint64_t>(*alias))
            lease.alias_id = *id;
        else
            fields.fail("alias_id=" + *alias + " is not a number in range");
    }

    if (!fields.problem().empty())
        return fields.problem();
    // Ids count up from 1; one near the top would make the next ids wrap
    // around onto those of live leases.
    if (lease.id == 0 || lease.id > max_lease_id)
        return "id=" + std::to_string(lease.id) + " is not a lease id (1 to " + std::to_string(max_lease_id) + ")";
    if (lease.owner.empty() || lease.owner.front() != ':')
        return "owner=" + lease.owner + " is not a unique bus name";
    if (lease.request.bar > max_bar_index)
        return "bar=" + std::to_string(lease.request.bar) + " is not a BAR index (0 to 5)";
    if ((lease.alias_id != 0) != (lease.mechanism == "wcalias"))
        return "mechanism=" + lease.mechanism + " and alias_id=" + std::to_string(lease.alias_id) + " do not go together";
    if (lease.request.length == 0 || lease.request.offset > std::numeric_limits<std::uint64_t>::max() - lease.request.length)
        return std::string("offset and length do not describe a range");
    return record;
}

} // namespace wcbroker
