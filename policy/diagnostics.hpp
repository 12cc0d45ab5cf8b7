// Errors and warnings about policy files, each pinned to file, line and column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wcbroker {

struct SourceLocation {
    std::string file;
    std::uint32_t line = 0;   // 1-based; 0 when the problem concerns the whole file
    std::uint32_t column = 0; // 1-based

    // "file:line:col", or just "file" when there is no position.
    std::string to_string() const;
};

enum class Severity {
    Error,
    Warning,
};

struct Diagnostic {
    Severity severity = Severity::Error;
    SourceLocation where;
    std::string key;     // dotted key path, e.g. "rule[ena-llq].ranges[1].offset"; may be empty
    std::string message; // what is wrong, then what would be valid

    // The compiler-style line: "file:line:col: error: key: message".
    std::string to_string() const;
};

class Diagnostics {
public:
    void error(SourceLocation where, std::string key, std::string message);
    void warning(SourceLocation where, std::string key, std::string message);
    void add(Diagnostic diagnostic) { entries_.push_back(std::move(diagnostic)); }
    void append(const Diagnostics& other);

    const std::vector<Diagnostic>& all() const { return entries_; }
    std::size_t error_count() const;
    std::size_t warning_count() const;
    bool has_errors() const { return error_count() != 0; }

    // Orders by file (in `file_order`, the order files were read), then line
    // and column, so output reads top to bottom whatever order the checks ran in.
    void sort(const std::vector<std::string>& file_order);

private:
    std::vector<Diagnostic> entries_;
};

} // namespace wcbroker
