// Logging for wcbrokerd: to the journal with structured fields when stderr
// is connected to it (JOURNAL_STREAM), else one line per message on stderr.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <syslog.h>

namespace wcbroker {

enum class LogLevel {
    Error = LOG_ERR,
    Warning = LOG_WARNING,
    Notice = LOG_NOTICE,
    Info = LOG_INFO,
    Debug = LOG_DEBUG,
};

std::optional<LogLevel> parse_log_level(std::string_view text); // "error", "warning", "notice", "info", "debug"
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
// True when stderr is the journal's stream, so records can carry fields.
bool logging_to_journal();

void log(LogLevel level, const std::string& message);

inline void log_error(const std::string& message) { log(LogLevel::Error, message); }
inline void log_warning(const std::string& message) { log(LogLevel::Warning, message); }
inline void log_notice(const std::string& message) { log(LogLevel::Notice, message); }
inline void log_info(const std::string& message) { log(LogLevel::Info, message); }
inline void log_debug(const std::string& message) { log(LogLevel::Debug, message); }

} // namespace wcbroker
