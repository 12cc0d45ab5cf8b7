#include "log.hpp"

#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

namespace wcbroker {
namespace {

LogLevel threshold = LogLevel::Info;

// JOURNAL_STREAM is "DEV:INODE" of the journal stream stderr was connected
// to; a child that inherited the variable but not the stream must not use it.
bool detect_journal()
{
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr)
        return false;
    unsigned long long device = 0;
    unsigned long long inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2)
        return false;
    struct stat info {};
    return ::fstat(STDERR_FILENO, &info) == 0 && info.st_dev == device && info.st_ino == inode;
}

const char* level_word(LogLevel level)
{
    switch (level) {
    case LogLevel::Error:
        return "error";
    case LogLevel::Warning:
        return "warning";
    case LogLevel::Notice:
        return "notice";
    case LogLevel::Info:
        return "info";
    case LogLevel::Debug:
        return "debug";
    }
    return "info";
}

} // namespace

std::optional<LogLevel> parse_log_level(std::string_view text)
{
    for (LogLevel level : {LogLevel::Error, LogLevel::Warning, LogLevel::Notice, LogLevel::Info, LogLevel::Debug}) {
        if (text == level_word(level))
            return level;
    }
    return std::nullopt;
}

void set_log_level(LogLevel level)
{
    threshold = level;
}

bool log_enabled(LogLevel level)
{
    return static_cast<int>(level) <= static_cast<int>(threshold);
}

bool logging_to_journal()
{
    static const bool journal = detect_journal();
    return journal;
}

void log(LogLevel level, const std::string& message)
{
    if (!log_enabled(level))
        return;
    if (logging_to_journal()) {
        sd_journal_print(static_cast<int>(level), "%s", message.c_str());
        return;
    }
    std::fprintf(stderr, "wcbrokerd: %s: %s\n", level_word(level), message.c_str());
}

} // namespace wcbroker
