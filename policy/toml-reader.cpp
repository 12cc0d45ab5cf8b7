#include "toml-reader.hpp"

#include <algorithm>

namespace wcbroker {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string join(const std::vector<std::string_view>& words)
{
    std::string out;
    for (std::string_view word : words) {
        if (!out.empty())
            out += ", ";
        out += word;
    }
    return out;
}

} // namespace

std::string_view toml_type_name(const toml::node& node)
{
    switch (node.type()) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a floating-point number";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time";
    case toml::node_type::date_time:
        return "a date-time";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

SourceLocation location_of(const toml::node& node, const std::string& file)
{
    const toml::source_position& begin = node.source().begin;
    return {file, begin.line, begin.column};
}

std::optional<std::string_view> closest_match(std::string_view word, const std::vector<std::string_view>& candidates)
{
    std::optional<std::string_view> best;
    std::size_t best_distance = 3;
    for (std::string_view candidate : candidates) {
        const std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    return best;
}

TableReader::TableReader(const toml::table& table, std::string path, const std::string& file, Diagnostics& diagnostics)
    : table_(table)
    , path_(std::move(path))
    , file_(file)
    , diagnostics_(diagnostics)
{
}

std::string TableReader::key_path(std::string_view key) const
{
    if (path_.empty())
        return std::string(key);
    if (key.empty())
        return path_;
    return path_ + "." + std::string(key);
}

void TableReader::reject_unknown_keys(std::initializer_list<std::string_view> allowed) const
{
    const std::vector<std::string_view> valid(allowed);
    for (auto&& [key, value] : table_) {
        if (std::find(valid.begin(), valid.end(), key.str()) != valid.end())
            continue;
        std::string message = "unknown key '" + std::string(key.str()) + "'";
        if (auto suggestion = closest_match(key.str(), valid))
            message += "; did you mean '" + std::string(*suggestion) + "'? Valid keys here: " + join(valid);
        else
            message += "; valid keys here: " + join(valid);
        const toml::source_position& begin = key.source().begin;
        diagnostics_.error({file_, begin.line, begin.column}, key_path(key.str()), std::move(message));
    }
}

const toml::node* TableReader::find(std::string_view key) const
{
    return table_.get(key);
}

void TableReader::error_at(const toml::node& node, std::string_view key, std::string message) const
{
    diagnostics_.error(where(node), key_path(key), std::move(message));
}

void TableReader::warning_at(const toml::node& node, std::string_view key, std::string message) const
{
    diagnostics_.warning(where(node), key_path(key), std::move(message));
}

void TableReader::error_missing(std::string_view key, std::string message) const
{
    diagnostics_.error(where(), key_path(key), std::move(message));
}

void TableReader::report_wrong_type(const toml::node& node, std::string_view key, std::string_view expected) const
{
    error_at(node, key,
        "expected " + std::string(expected) + ", found " + std::string(toml_type_name(node)));
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, std::string_view expected) const
{
    const toml::node* node = find(key);
    if (node == nullptr)
        return std::nullopt;
    if (auto value = node->value<std::int64_t>(); value && node->is_integer())
        return value;
    report_wrong_type(*node, key, expected);
    return std::nullopt;
}

std::optional<std::string> TableReader::string(std::string_view key, std::string_view expected) const
{
    const toml::node* node = find(key);
    if (node == nullptr)
        return std::nullopt;
    if (node->is_string())
        return std::string(*node->value<std::string_view>());
    report_wrong_type(*node, key, expected);
    return std::nullopt;
}

std::optional<bool> TableReader::boolean(std::string_view key) const
{
    const toml::node* node = find(key);
    if (node == nullptr)
        return std::nullopt;
    if (node->is_boolean())
        return *node->value<bool>();
    report_wrong_type(*node, key, "true or false");
    return std::nullopt;
}

std::vector<const toml::node*> TableReader::scalar_list(std::string_view key, std::string_view expected) const
{
    std::vector<const toml::node*> items;
    const toml::node* node = find(key);
    if (node == nullptr)
        return items;
    if (const toml::array* array = node->as_array()) {
        if (array->empty()) {
            error_at(*node, key,
                "empty list would match nothing; remove the key or list " + std::string(expected));
            return items;
        }
        for (std::size_t i = 0; i < array->size(); ++i) {
            const toml::node& item = *array->get(i);
            if (item.is_array() || item.is_table()) {
                report_wrong_type(item, std::string(key) + "[" + std::to_string(i) + "]", expected);
                continue;
            }
            items.push_back(&item);
        }
        return items;
    }
    if (node->is_table()) {
        report_wrong_type(*node, key, expected);
        return items;
    }
    items.push_back(node);
    return items;
}

} // namespace wcbroker
