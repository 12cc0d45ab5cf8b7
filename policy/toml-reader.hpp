// Typed access to a TOML table that reports every problem as a located
// diagnostic and keeps going, so one pass over a file finds all its errors.
#pragma once

#include "diagnostics.hpp"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

namespace wcbroker {

// "string", "integer", "table", ... as an admin would call them.
std::string_view toml_type_name(const toml::node& node);

SourceLocation location_of(const toml::node& node, const std::string& file);

// The closest candidate within edit distance 2, for "did you mean".
std::optional<std::string_view> closest_match(std::string_view word,
    const std::vector<std::string_view>& candidates);

class TableReader {
public:
    // `path` prefixes every key in messages, e.g. "rule[ena-llq]".
    TableReader(const toml::table& table, std::string path, const std::string& file, Diagnostics& diagnostics);

    const toml::table& table() const { return table_; }
    const std::string& file() const { return file_; }
    Diagnostics& diagnostics() const { return diagnostics_; }
    SourceLocation where() const { return location_of(table_, file_); }
    SourceLocation where(const toml::node& node) const { return location_of(node, file_); }
    std::string key_path(std::string_view key) const;

    // Reports each key not listed, suggesting the nearest valid one.
    void reject_unknown_keys(std::initializer_list<std::string_view> allowed) const;

    const toml::node* find(std::string_view key) const;

    void error_at(const toml::node& node, std::string_view key, std::string message) const;
    void warning_at(const toml::node& node, std::string_view key, std::string message) const;
    void error_missing(std::string_view key, std::string message) const;

    // Each getter returns nullopt when the key is absent or has the wrong type;
    // the wrong type is reported, naming `expected` ("an integer from 0 to 5").
    std::optional<std::int64_t> integer(std::string_view key, std::string_view expected) const;
    std::optional<std::string> string(std::string_view key, std::string_view expected) const;
    std::optional<bool> boolean(std::string_view key) const;

    // A scalar or an array of scalars, flattened: the key `users = "alice"`
    // and `users = ["alice"]` read the same. An empty array is an error,
    // because in a policy it would silently match nothing.
    std::vector<const toml::node*> scalar_list(std::string_view key, std::string_view expected) const;

    void report_wrong_type(const toml::node& node, std::string_view key, std::string_view expected) const;

private:
    const toml::table& table_;
    std::string path_;
    const std::string& file_;
    Diagnostics& diagnostics_;
};

} // namespace wcbroker
