// One policy file -> PolicyFragment. Checks everything that can be checked
// within the file; cross-file checks (names, references, conflicts) are in
// policy-merge.cpp.

#include "byte-size.hpp"
#include "device-facts.hpp"
#include "pci-address.hpp"
#include "policy-fragment.hpp"
#include "toml-reader.hpp"

#include <limits>

namespace wcbroker {
namespace {

constexpr std::int64_t max_lease_limit = 65536;
constexpr std::int64_t max_id = 0xfffffffe; // (uid_t)-1 means "no id" to the kernel

bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
        || c == '.';
}

// Rule and selector names appear in logs, D-Bus and audit records: keep them plain.
bool is_valid_name(std::string_view name)
{
    if (name.empty() || name.size() > 64 || name.front() == '-' || name.front() == '.')
        return false;
    for (char c : name) {
        if (!is_name_char(c))
            return false;
    }
    return true;
}

bool is_valid_driver_name(std::string_view name)
{
    if (name.empty() || name.size() > 64)
        return false;
    for (char c : name) {
        if (!is_name_char(c))
            return false;
    }
    return true;
}

bool is_unit_glob_char(char c)
{
    return is_name_char(c) || c == ':' || c == '@' || c == '\\' || c == '*' || c == '?' || c == '[' || c == ']';
}

std::string hex(std::int64_t value)
{
    return format_hex(static_cast<std::uint64_t>(value));
}

std::string range_text(const ByteRange& range)
{
    return "[" + format_hex(range.offset) + ", " + format_hex(range.end()) + ")";
}

class FileParser {
public:
    FileParser(const std::string& file, const LoadOptions& options, Diagnostics& diagnostics)
        : file_(file)
        , options_(options)
        , diagnostics_(diagnostics)
    {
    }

    PolicyFragment parse(const toml::table& root);

private:
    bool parse_version(const TableReader& root);
    void parse_globals(const TableReader& root, PolicyFragment& fragment);
    void parse_selectors(const TableReader& root, PolicyFragment& fragment);
    void parse_rules(const TableReader& root, PolicyFragment& fragment);

    std::optional<DeviceSelector> parse_selector(const TableReader& reader, std::string name);
    std::vector<std::uint16_t> parse_ids(const TableReader& reader, std::string_view key, std::string_view what);
    std::optional<RuleDraft> parse_rule(const toml::table& table, std::size_t position);
    void parse_rule_devices(const TableReader& reader, RuleDraft& draft);
    void parse_bar(const TableReader& reader, Rule& rule);
    void parse_ranges(const TableReader& reader, Rule& rule);
    std::optional<std::uint64_t> parse_size(const TableReader& reader, std::string_view key, std::string_view what);
    void parse_access(const TableReader& reader, Rule& rule);
    void parse_users(const TableReader& reader, RuleDraft& draft);
    void parse_groups(const TableReader& reader, RuleDraft& draft);
    void parse_units(const TableReader& reader, Rule& rule);
    void parse_cgroups(const TableReader& reader, Rule& rule);
    void parse_rule_options(const TableReader& reader, Rule& rule);

    const std::string& file_;
    const LoadOptions& options_;
    Diagnostics& diagnostics_;
};

PolicyFragment FileParser::parse(const toml::table& root)
{
    PolicyFragment fragment;
    fragment.file = file_;
    TableReader reader(root, "", file_, diagnostics_);
    reader.reject_unknown_keys({"version", "default", "mode", "selector", "rule"});
    // Reading the rest of a file written for another schema would only bury
    // the one message that matters under noise.
    if (!parse_version(reader))
        return fragment;
    parse_globals(reader, fragment);
    parse_selectors(reader, fragment);
    parse_rules(reader, fragment);
    return fragment;
}

bool FileParser::parse_version(const TableReader& root)
{
    const toml::node* node = root.find("version");
    if (node == nullptr) {
        diagnostics_.error({file_, 1, 1}, "version",
            "missing 'version = 1'; every policy file starts by naming the schema version it is written for");
        return false;
    }
    auto version = root.integer("version", "the integer 1");
    if (!version)
        return false;
    if (*version != 1) {
        root.error_at(*node, "version",
            "unsupported version " + std::to_string(*version)
                + "; this wcbroker reads version 1 (the rest of this file was not checked)");
        return false;
    }
    return true;
}

void FileParser::parse_globals(const TableReader& root, PolicyFragment& fragment)
{
    if (auto decision = root.string("default", "the string \"deny\"")) {
        if (*decision != "deny") {
            root.error_at(*root.find("default"), "default",
                "unsupported default \"" + *decision
                    + "\"; only \"deny\" is valid: wcbroker grants nothing that no rule allows. "
                      "To roll a policy out without enforcing it, use mode = \"audit\"");
        }
    }
    if (auto mode = root.string("mode", "\"enforce\" or \"audit\"")) {
        if (*mode == "enforce" || *mode == "audit") {
            fragment.mode = *mode == "audit" ? EnforcementMode::Audit : EnforcementMode::Enforce;
            fragment.mode_where = root.where(*root.find("mode"));
        } else {
            root.error_at(*root.find("mode"), "mode", "unknown mode \"" + *mode + "\"; use \"enforce\" or \"audit\"");
        }
    }
}

void FileParser::parse_selectors(const TableReader& root, PolicyFragment& fragment)
{
    const toml::node* node = root.find("selector");
    if (node == nullptr)
        return;
    const toml::table* selectors = node->as_table();
    if (selectors == nullptr) {
        root.error_at(*node, "selector",
            "expected tables like [selector.NAME], found " + std::string(toml_type_name(*node)));
        return;
    }
    for (auto&& [key, value] : *selectors) {
        const std::string name(key.str());
        const std::string path = "selector." + name;
        if (!is_valid_name(name)) {
            const toml::source_position& at = key.source().begin;
            diagnostics_.error({file_, at.line, at.column}, path,
                "invalid selector name; use 1 to 64 letters, digits, '-', '_' or '.', not starting with '-' or '.'");
            fragment.invalid_selectors.push_back(name);
            continue;
        }
        const toml::table* table = value.as_table();
        if (table == nullptr) {
            diagnostics_.error(location_of(value, file_), path,
                "expected a table [selector." + name + "] of device properties, found "
                    + std::string(toml_type_name(value)));
            fragment.invalid_selectors.push_back(name);
            continue;
        }
        const toml::source_position& at = key.source().begin;
        if (auto selector = parse_selector(TableReader(*table, path, file_, diagnostics_), name)) {
            // Point at the name, which is where an admin looks for a selector.
            selector->where = {file_, at.line, at.column};
            fragment.selectors.push_back(std::move(*selector));
        } else {
            fragment.invalid_selectors.push_back(name);
        }
    }
}

std::vector<std::uint16_t> FileParser::parse_ids(const TableReader& reader, std::string_view key, std::string_view what)
{
    std::vector<std::uint16_t> ids;
    const std::string expected = "a 16-bit " + std::string(what) + " id such as 0x1d0f, or a list of them";
    for (const toml::node* item : reader.scalar_list(key, expected)) {
        auto value = item->value<std::int64_t>();
        if (!item->is_integer() || !value) {
            std::string message = "expected " + expected + ", found " + std::string(toml_type_name(*item));
            if (item->is_string())
                message += " (write ids as hex integers without quotes)";
            reader.error_at(*item, key, std::move(message));
            continue;
        }
        if (*value < 0 || *value > 0xffff) {
            reader.error_at(*item, key, std::string(what) + " id " + hex(*value) + " does not fit in 16 bits (0x0 to 0xffff)");
            continue;
        }
        ids.push_back(static_cast<std::uint16_t>(*value));
    }
    return ids;
}

std::optional<DeviceSelector> FileParser::parse_selector(const TableReader& reader, std::string name)
{
    reader.reject_unknown_keys({"vendor", "device", "subsystem_vendor", "subsystem_device", "class", "class_mask",
        "address", "iommu_group", "driver", "description"});
    const std::size_t errors_before = diagnostics_.error_count();

    DeviceSelector selector;
    selector.name = std::move(name);
    selector.where = reader.where();
    selector.vendor_ids = parse_ids(reader, "vendor", "vendor");
    selector.device_ids = parse_ids(reader, "device", "device");
    selector.subsystem_vendor_ids = parse_ids(reader, "subsystem_vendor", "subsystem vendor");
    selector.subsystem_device_ids = parse_ids(reader, "subsystem_device", "subsystem device");

    // Device ids are assigned by each vendor, so alone they match unrelated hardware.
    if (!selector.device_ids.empty() && reader.find("vendor") == nullptr) {
        reader.error_at(*reader.find("device"), "device",
            "a device id is only meaningful with its vendor; add vendor = 0x... to this selector");
    }
    if (!selector.subsystem_device_ids.empty() && reader.find("subsystem_vendor") == nullptr) {
        reader.error_at(*reader.find("subsystem_device"), "subsystem_device",
            "a subsystem device id is only meaningful with its subsystem vendor; add subsystem_vendor = 0x...");
    }

    const std::string class_expected = "a 24-bit PCI class code such as 0x020000 (base class, subclass, interface)";
    auto device_class = reader.integer("class", class_expected);
    auto class_mask = reader.integer("class_mask", "a 24-bit mask such as 0xffff00");
    bool class_ok = true;
    if (device_class && (*device_class < 0 || *device_class > 0xffffff)) {
        reader.error_at(*reader.find("class"), "class", "class " + format_hex(static_cast<std::uint64_t>(*device_class), 6) + " does not fit in 24 bits");
        class_ok = false;
    }
    if (class_mask && (*class_mask <= 0 || *class_mask > 0xffffff)) {
        reader.error_at(*reader.find("class_mask"), "class_mask",
            "class_mask " + format_hex(static_cast<std::uint64_t>(*class_mask), 6) + " must be a non-zero 24-bit mask such as 0xff0000 or 0xffff00");
        class_ok = false;
    }
    if (reader.find("class_mask") != nullptr && reader.find("class") == nullptr) {
        reader.error_at(*reader.find("class_mask"), "class_mask", "class_mask needs a class to apply to; add class = 0x...");
        class_ok = false;
    }
    if (device_class && class_ok) {
        const std::uint32_t mask = class_mask ? static_cast<std::uint32_t>(*class_mask) : 0xffffffu;
        const auto value = static_cast<std::uint32_t>(*device_class);
        if ((value & ~mask) != 0) {
            reader.error_at(*reader.find("class"), "class",
                "class " + format_hex(value, 6) + " has bits outside class_mask " + format_hex(mask, 6)
                    + ", so no device can match; clear those bits or widen the mask");
        }
        selector.device_class = ClassMatch{value & mask, mask};
    }

    for (const toml::node* item : reader.scalar_list("address", "PCI address patterns such as \"0000:3b:*.*\"")) {
        if (!item->is_string()) {
            reader.report_wrong_type(*item, "address", "a PCI address pattern such as \"0000:3b:*.*\"");
            continue;
        }
        const std::string_view text = *item->value<std::string_view>();
        if (auto glob = canonical_pci_address_glob(text)) {
            selector.address_globs.push_back(*glob);
        } else {
            reader.error_at(*item, "address",
                "\"" + std::string(text)
                    + "\" is not a PCI address pattern; write domain:bus:device.function in hex, "
                      "such as \"0000:3b:00.0\", with * ? [ ] wildcards as in \"0000:3b:*.*\"");
        }
    }

    for (const toml::node* item : reader.scalar_list("iommu_group", "IOMMU group numbers")) {
        auto value = item->value<std::int64_t>();
        if (!item->is_integer() || !value || *value < 0 || *value > std::numeric_limits<std::int32_t>::max()) {
            reader.error_at(*item, "iommu_group",
                "expected an IOMMU group number (a non-negative integer, the N in /dev/vfio/N), found "
                    + (item->is_integer() ? std::to_string(*value) : std::string(toml_type_name(*item))));
            continue;
        }
        selector.iommu_groups.push_back(static_cast<std::uint32_t>(*value));
    }

    if (auto driver = reader.string("driver", "a kernel driver name such as \"vfio-pci\"")) {
        if (!is_valid_driver_name(*driver)) {
            reader.error_at(*reader.find("driver"), "driver", "\"" + *driver + "\" is not a kernel driver name");
        } else {
            if (*driver != "vfio-pci") {
                reader.warning_at(*reader.find("driver"), "driver",
                    "wcbrokerd serves only devices bound to vfio-pci, so a selector for driver \"" + *driver
                        + "\" never matches a device it serves");
            }
            selector.driver = *driver;
        }
    }
    reader.string("description", "a string");

    const bool selects_nothing_specific = reader.find("vendor") == nullptr && reader.find("class") == nullptr
        && reader.find("address") == nullptr && reader.find("iommu_group") == nullptr
        && reader.find("subsystem_vendor") == nullptr;
    if (selects_nothing_specific) {
        diagnostics_.error(reader.where(), reader.key_path(""),
            "this selector would match every device; set at least one of vendor, subsystem_vendor, class, "
            "address or iommu_group (address = \"*:*:*.*\" if every device is really meant)");
    }
    if (diagnostics_.error_count() != errors_before)
        return std::nullopt;
    return selector;
}

void FileParser::parse_rules(const TableReader& root, PolicyFragment& fragment)
{
    const toml::node* node = root.find("rule");
    if (node == nullptr)
        return;
    const toml::array* rules = node->as_array();
    if (rules == nullptr || !rules->is_array_of_tables()) {
        root.error_at(*node, "rule",
            "expected one [[rule]] table per rule (note the double brackets), found "
                + std::string(toml_type_name(*node)));
        return;
    }
    for (std::size_t i = 0; i < rules->size(); ++i) {
        if (auto draft = parse_rule(*rules->get(i)->as_table(), i + 1))
            fragment.rules.push_back(std::move(*draft));
    }
}

std::optional<RuleDraft> FileParser::parse_rule(const toml::table& table, std::size_t position)
{
    const std::size_t errors_before = diagnostics_.error_count();
    std::string path = "rule[#" + std::to_string(position) + "]";

    RuleDraft draft;
    Rule& rule = draft.rule;
    {
        TableReader unnamed(table, path, file_, diagnostics_);
        rule.where = unnamed.where();
        if (auto name = unnamed.string("name", "a rule name such as \"ena-llq\"")) {
            if (is_valid_name(*name)) {
                rule.name = *name;
                path = "rule[" + *name + "]";
            } else {
                unnamed.error_at(*unnamed.find("name"), "name",
                    "invalid rule name \"" + *name
                        + "\"; use 1 to 64 letters, digits, '-', '_' or '.', not starting with '-' or '.'");
            }
        } else if (unnamed.find("name") == nullptr) {
            unnamed.error_missing("name",
                "every rule needs a name = \"...\"; audit records and error messages refer to rules by name");
        }
    }

    const TableReader reader(table, path, file_, diagnostics_);
    reader.reject_unknown_keys({"name", "description", "devices", "device", "bar", "ranges", "access", "users",
        "groups", "units", "cgroups", "max_leases", "require_verified_wc", "require_kernel_enforced_range"});
    if (auto description = reader.string("description", "a string"))
        rule.description = *description;
    parse_rule_devices(reader, draft);
    parse_bar(reader, rule);
    parse_ranges(reader, rule);
    parse_access(reader, rule);
    parse_users(reader, draft);
    parse_groups(reader, draft);
    parse_units(reader, rule);
    parse_cgroups(reader, rule);

    const bool names_anyone = reader.find("users") != nullptr || reader.find("groups") != nullptr
        || reader.find("units") != nullptr || reader.find("cgroups") != nullptr;
    if (!names_anyone) {
        diagnostics_.error(reader.where(), path,
            "this rule names no subjects, so it would grant nobody; add users, groups, units or cgroups");
    } else if (reader.find("users") == nullptr && reader.find("groups") == nullptr) {
        diagnostics_.warning(reader.where(), path,
            "this rule trusts only units/cgroups, which are read from /proc/<pid> after the caller connected and "
            "can be raced; add users or groups to tie it to credentials the bus recorded");
    }
    parse_rule_options(reader, rule);

    if (diagnostics_.error_count() != errors_before)
        return std::nullopt;
    return draft;
}

void FileParser::parse_rule_devices(const TableReader& reader, RuleDraft& draft)
{
    const toml::node* names = reader.find("devices");
    const toml::node* inline_selector = reader.find("device");
    if (names != nullptr && inline_selector != nullptr) {
        reader.error_at(*inline_selector, "device",
            "use either devices (names of [selector.NAME] tables) or device (an inline selector), not both");
        return;
    }
    if (names == nullptr && inline_selector == nullptr) {
        reader.error_missing("devices",
            "a rule must say which devices it covers: devices = [\"NAME\"] naming [selector.NAME] tables, "
            "or device = { vendor = 0x1d0f, ... } inline");
        return;
    }
    if (inline_selector != nullptr) {
        const toml::table* table = inline_selector->as_table();
        if (table == nullptr) {
            reader.report_wrong_type(*inline_selector, "device",
                "an inline selector table such as { vendor = 0x1d0f, device = 0xec20 }");
            return;
        }
        draft.inline_selector = parse_selector(TableReader(*table, reader.key_path("device"), file_, diagnostics_), "");
        return;
    }
    for (const toml::node* item : reader.scalar_list("devices", "selector names")) {
        if (!item->is_string()) {
            reader.report_wrong_type(*item, "devices", "the name of a [selector.NAME] table");
            continue;
        }
        draft.selector_refs.push_back(
            {std::string(*item->value<std::string_view>()), reader.where(*item), reader.key_path("devices")});
    }
}

void FileParser::parse_bar(const TableReader& reader, Rule& rule)
{
    const toml::node* node = reader.find("bar");
    if (node == nullptr) {
        reader.error_missing("bar", "missing bar = N, the BAR index (0 to 5) this rule covers");
        return;
    }
    auto bar = reader.integer("bar", "a BAR index from 0 to 5");
    if (!bar)
        return;
    if (*bar < 0 || *bar > std::int64_t{max_bar_index}) {
        reader.error_at(*node, "bar",
            "BAR index " + std::to_string(*bar)
                + " is out of range; use 0 to 5 (the expansion ROM and bridge windows cannot be mapped)");
        return;
    }
    rule.bar = static_cast<std::uint32_t>(*bar);
}

std::optional<std::uint64_t> FileParser::parse_size(const TableReader& reader, std::string_view key,
    std::string_view what)
{
    const toml::node* node = reader.find(key);
    if (node == nullptr) {
        reader.error_missing(key, "missing " + std::string(key) + " = ..., the " + std::string(what));
        return std::nullopt;
    }
    const std::string expected = "a byte count: an integer, or a string such as \"4KiB\", \"2MiB\" or \"0x1000\"";
    if (node->is_integer()) {
        const std::int64_t value = *node->value<std::int64_t>();
        if (value < 0) {
            reader.error_at(*node, key, std::string(what) + " cannot be negative");
            return std::nullopt;
        }
        return static_cast<std::uint64_t>(value);
    }
    if (node->is_string()) {
        const std::string_view text = *node->value<std::string_view>();
        if (auto value = parse_byte_size(text))
            return value;
        std::string message = "\"" + std::string(text) + "\" is not " + expected;
        if (text.ends_with("KB") || text.ends_with("MB") || text.ends_with("GB") || text.ends_with("kB"))
            message += " (decimal units are ambiguous for BAR layouts; use KiB, MiB or GiB)";
        reader.error_at(*node, key, std::move(message));
        return std::nullopt;
    }
    reader.report_wrong_type(*node, key, expected);
    return std::nullopt;
}

void FileParser::parse_ranges(const TableReader& reader, Rule& rule)
{
    const toml::node* node = reader.find("ranges");
    const std::string expected = "\"all\" (the whole BAR) or a list of { offset = ..., length = ... } tables";
    if (node == nullptr) {
        reader.error_missing("ranges", "missing ranges = ...; use " + expected);
        return;
    }
    if (node->is_string()) {
        if (*node->value<std::string_view>() == "all")
            rule.whole_bar = true;
        else
            reader.error_at(*node, "ranges", "expected " + expected + ", found \"" + std::string(*node->value<std::string_view>()) + "\"");
        return;
    }
    const toml::array* array = node->as_array();
    if (array == nullptr) {
        reader.report_wrong_type(*node, "ranges", expected);
        return;
    }
    if (array->empty()) {
        reader.error_at(*node, "ranges", "empty list would grant nothing; list at least one range or use \"all\"");
        return;
    }
    const std::uint64_t page = options_.page_size;
    const std::string page_text = std::to_string(page);
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& item = *array->get(i);
        const std::string key = "ranges[" + std::to_string(i) + "]";
        const toml::table* table = item.as_table();
        if (table == nullptr) {
            reader.report_wrong_type(item, key, "a table { offset = ..., length = ... }");
            continue;
        }
        TableReader range_reader(*table, reader.key_path(key), file_, diagnostics_);
        range_reader.reject_unknown_keys({"offset", "length"});
        auto offset = parse_size(range_reader, "offset", "byte offset of the range inside the BAR");
        auto length = parse_size(range_reader, "length", "length of the range in bytes");
        if (!offset || !length)
            continue;
        bool valid = true;
        auto suggest = [&](std::uint64_t value) {
            const std::uint64_t down = value / page * page;
            return format_hex(down) + " or " + format_hex(down + page);
        };
        if (*offset % page != 0) {
            range_reader.error_at(*table->get("offset"), "offset",
                "offset " + format_hex(*offset) + " is not a multiple of the page size (" + page_text
                    + "); use " + suggest(*offset));
            valid = false;
        }
        if (*length == 0) {
            range_reader.error_at(*table->get("length"), "length", "length must be greater than zero");
            valid = false;
        } else if (*length % page != 0) {
            range_reader.error_at(*table->get("length"), "length",
                "length " + format_hex(*length) + " is not a multiple of the page size (" + page_text
                    + "); mappings are whole pages, so use " + suggest(*length));
            valid = false;
        }
        if (*length > std::numeric_limits<std::uint64_t>::max() - *offset) {
            range_reader.error_at(*table->get("length"), "length", "offset + length overflows 64 bits");
            valid = false;
        }
        if (!valid)
            continue;
        const ByteRange range{*offset, *length};
        if (!rule.ranges.empty()) {
            const ByteRange& previous = rule.ranges.back();
            if (range.offset < previous.offset) {
                range_reader.error_at(*table->get("offset"), "offset",
                    "ranges must be in ascending order: " + range_text(range) + " starts before the previous range "
                        + range_text(previous) + "; move it up");
                continue;
            }
            if (range.offset < previous.end()) {
                range_reader.error_at(*table->get("offset"), "offset",
                    "range " + range_text(range) + " overlaps the previous range " + range_text(previous)
                        + "; ranges must not overlap (merge them into one)");
                continue;
            }
        }
        rule.ranges.push_back(range);
    }
}

void FileParser::parse_access(const TableReader& reader, Rule& rule)
{
    const toml::node* node = reader.find("access");
    if (node == nullptr) {
        reader.error_missing("access", "missing access = \"write-combine\" or \"uncached\"");
        return;
    }
    auto text = reader.string("access", "\"write-combine\" or \"uncached\"");
    if (!text)
        return;
    if (auto access = wcbroker::parse_access(*text)) {
        rule.access = *access;
        return;
    }
    std::string message = "unknown access \"" + *text + "\"; use \"write-combine\" or \"uncached\"";
    if (*text == "wc" || *text == "write-combining" || *text == "writecombine")
        message += " (did you mean \"write-combine\"?)";
    else if (*text == "uc" || *text == "uncached-minus")
        message += " (did you mean \"uncached\"?)";
    reader.error_at(*node, "access", std::move(message));
}

void FileParser::parse_users(const TableReader& reader, RuleDraft& draft)
{
    for (const toml::node* item : reader.scalar_list("users", "user names or uids")) {
        if (item->is_integer()) {
            const std::int64_t uid = *item->value<std::int64_t>();
            if (uid < 0 || uid > max_id) {
                reader.error_at(*item, "users", "uid " + std::to_string(uid) + " is out of range (0 to 4294967294)");
                continue;
            }
            draft.rule.users.push_back({"", static_cast<uid_t>(uid)});
        } else if (item->is_string()) {
            std::string name(*item->value<std::string_view>());
            draft.names.push_back({false, name, reader.where(*item), reader.key_path("users"), draft.rule.users.size()});
            draft.rule.users.push_back({std::move(name), std::nullopt});
        } else {
            reader.report_wrong_type(*item, "users", "a user name or a uid");
        }
    }
}

void FileParser::parse_groups(const TableReader& reader, RuleDraft& draft)
{
    for (const toml::node* item : reader.scalar_list("groups", "group names or gids")) {
        if (item->is_integer()) {
            const std::int64_t gid = *item->value<std::int64_t>();
            if (gid < 0 || gid > max_id) {
                reader.error_at(*item, "groups", "gid " + std::to_string(gid) + " is out of range (0 to 4294967294)");
                continue;
            }
            draft.rule.groups.push_back({"", static_cast<gid_t>(gid)});
        } else if (item->is_string()) {
            std::string name(*item->value<std::string_view>());
            draft.names.push_back({true, name, reader.where(*item), reader.key_path("groups"), draft.rule.groups.size()});
            draft.rule.groups.push_back({std::move(name), std::nullopt});
        } else {
            reader.report_wrong_type(*item, "groups", "a group name or a gid");
        }
    }
}

void FileParser::parse_units(const TableReader& reader, Rule& rule)
{
    for (const toml::node* item : reader.scalar_list("units", "systemd unit names or globs")) {
        if (!item->is_string()) {
            reader.report_wrong_type(*item, "units", "a systemd unit name or glob such as \"dpdk-*.service\"");
            continue;
        }
        const std::string unit(*item->value<std::string_view>());
        bool valid = !unit.empty() && unit.size() <= 256;
        for (char c : unit)
            valid = valid && is_unit_glob_char(c);
        if (!valid) {
            reader.error_at(*item, "units",
                "\"" + unit + "\" is not a unit name or glob; use letters, digits, \":-_.\\@\" and * ? [ ]");
            continue;
        }
        const bool typed = unit.ends_with(".service") || unit.ends_with(".scope") || unit.ends_with("*");
        if (!typed) {
            reader.error_at(*item, "units",
                "unit \"" + unit + "\" has no type a client can run in; write \"" + unit + ".service\" or \"" + unit
                    + ".scope\" (or end the glob with * to match any type)");
            continue;
        }
        rule.units.push_back(unit);
    }
}

void FileParser::parse_cgroups(const TableReader& reader, Rule& rule)
{
    for (const toml::node* item : reader.scalar_list("cgroups", "cgroup path prefixes")) {
        if (!item->is_string()) {
            reader.report_wrong_type(*item, "cgroups", "a cgroup path such as \"/system.slice/dpdk.service\"");
            continue;
        }
        const std::string path(*item->value<std::string_view>());
        const bool absolute = path.starts_with("/");
        const bool normalized = path.find("//") == std::string::npos && path.find("/./") == std::string::npos
            && path.find("/../") == std::string::npos && !path.ends_with("/..") && !path.ends_with("/.")
            && (path == "/" || !path.ends_with("/"));
        if (!absolute || !normalized || path.size() > 4096) {
            reader.error_at(*item, "cgroups",
                "\"" + path
                    + "\" is not a normalized absolute cgroup path; write it as /proc/<pid>/cgroup shows it, "
                      "such as \"/system.slice/dpdk.service\" (no trailing '/', '.', '..' or '//')");
            continue;
        }
        rule.cgroups.push_back(path);
    }
}

void FileParser::parse_rule_options(const TableReader& reader, Rule& rule)
{
    if (const toml::node* node = reader.find("max_leases")) {
        if (auto limit = reader.integer("max_leases", "a lease count from 1 to 65536")) {
            if (*limit < 1 || *limit > max_lease_limit) {
                reader.error_at(*node, "max_leases",
                    "max_leases " + std::to_string(*limit)
                        + " is out of range; use 1 to 65536 (to grant nothing, remove the rule)");
            } else {
                rule.max_leases = static_cast<std::uint32_t>(*limit);
            }
        }
    }
    if (auto verified = reader.boolean("require_verified_wc")) {
        rule.require_verified_wc = *verified;
        if (*verified && rule.access == Access::Uncached && reader.find("access") != nullptr) {
            reader.error_at(*reader.find("require_verified_wc"), "require_verified_wc",
                "require_verified_wc applies only to access = \"write-combine\"; remove it from this uncached rule");
        }
    }
    if (auto enforced = reader.boolean("require_kernel_enforced_range")) {
        rule.require_kernel_enforced_range = *enforced;
        if (*enforced) {
            reader.warning_at(*reader.find("require_kernel_enforced_range"), "require_kernel_enforced_range",
                "only the wcalias kernel module enforces a range (sysfs resource files map the whole BAR): where it "
                "is not loaded and usable, every request under this rule will be refused (wcbrokerctl status says "
                "whether it is)");
        }
    }
}

} // namespace

PolicyFragment parse_policy_file(const std::string& file, std::string_view text, const LoadOptions& options,
    Diagnostics& diagnostics)
{
    toml::table root;
    try {
        root = toml::parse(text, file);
    } catch (const toml::parse_error& error) {
        const toml::source_position& at = error.source().begin;
        diagnostics.error({file, at.line, at.column}, "",
            std::string(error.description()) + " (TOML syntax error; the rest of this file was not checked)");
        PolicyFragment fragment;
        fragment.file = file;
        return fragment;
    }
    return FileParser(file, options, diagnostics).parse(root);
}

} // namespace wcbroker
