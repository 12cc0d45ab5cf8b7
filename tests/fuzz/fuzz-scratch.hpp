// A fuzzer's own scratch directory, under $TMPDIR, so that run-fuzzer.sh
// can collect (and clean up) whatever a run leaves behind.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdlib.h>
#include <string>

namespace wcbroker::fuzz {

inline std::string make_scratch_directory(const std::string& name)
{
    const char* tmpdir = std::getenv("TMPDIR");
    std::string pattern = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") + "/wcbroker-fuzz-" + name + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        std::perror(pattern.c_str());
        std::abort();
    }
    return pattern;
}

} // namespace wcbroker::fuzz
