// One function per wcbrokerctl verb, each in wcbrokerctl-<verb>.cpp.
#pragma once

namespace wcbroker::cli {

int run_check_policy(int argc, char** argv);
int run_explain(int argc, char** argv);
int run_list_devices(int argc, char** argv);
int run_show_device(int argc, char** argv);
int run_list_leases(int argc, char** argv);
int run_acquire(int argc, char** argv);
int run_release(int argc, char** argv);
int run_reload(int argc, char** argv);
int run_status(int argc, char** argv);
int run_monitor(int argc, char** argv);
int run_autobind_rules(int argc, char** argv);
int run_cdi(int argc, char** argv);
int run_exec(int argc, char** argv);

} // namespace wcbroker::cli
