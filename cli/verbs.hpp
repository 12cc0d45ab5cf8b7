// One function per wcbrokerctl verb, each in wcbrokerctl-<verb>.cpp.
#pragma once

namespace wcbroker::cli {

int run_check_policy(int argc, char** argv);
int run_explain(int argc, char** argv);

} // namespace wcbroker::cli
