#include "diagnostics.hpp"

#include <algorithm>
#include <tuple>

namespace wcbroker {

std::string SourceLocation::to_string() const
{
    if (line == 0)
        return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Diagnostic::to_string() const
{
    std::string text = where.to_string();
    text += severity == Severity::Error ? ": error: " : ": warning: ";
    if (!key.empty()) {
        text += key;
        text += ": ";
    }
    text += message;
    return text;
}

void Diagnostics::error(SourceLocation where, std::string key, std::string message)
{
    entries_.push_back({Severity::Error, std::move(where), std::move(key), std::move(message)});
}

void Diagnostics::warning(SourceLocation where, std::string key, std::string message)
{
    entries_.push_back({Severity::Warning, std::move(where), std::move(key), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other)
{
    entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
}

std::size_t Diagnostics::error_count() const
{
    return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(),
        [](const Diagnostic& d) { return d.severity == Severity::Error; }));
}

std::size_t Diagnostics::warning_count() const
{
    return entries_.size() - error_count();
}

void Diagnostics::sort(const std::vector<std::string>& file_order)
{
    auto rank = [&](const std::string& file) {
        auto it = std::find(file_order.begin(), file_order.end(), file);
        return static_cast<std::size_t>(it - file_order.begin());
    };
    std::stable_sort(entries_.begin(), entries_.end(), [&](const Diagnostic& a, const Diagnostic& b) {
        return std::make_tuple(rank(a.where.file), a.where.line, a.where.column)
            < std::make_tuple(rank(b.where.file), b.where.line, b.where.column);
    });
}

} // namespace wcbroker
