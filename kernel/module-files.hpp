// A kernel module as installed and as loaded: its files under
// /lib/modules/RELEASE (any subdirectory: updates/dkms, extra, ...), the
// kernel release each was built for (vermagic, from an uncompressed .ko),
// whether a signature is appended, and /sys/module/NAME when loaded. For
// wcbrokerctl doctor's "built for another kernel" and "signed or tainting".
#pragma once

#include "file-reading.hpp"
#include "kernel-paths.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wcbroker {

struct ModuleFile {
    std::string path;
    std::string release;                // the lib/modules directory it is under
    bool compressed = false;            // .ko.xz, .ko.zst, .ko.gz: vermagic and signature unread
    std::optional<std::string> vermagic; // "6.1.0-31-cloud-amd64 SMP preempt mod_unload modversions "
    bool signature_appended = false;
};

struct LoadedModule {
    bool loaded = false;  // /sys/module/NAME exists
    FileReading version;  // /sys/module/NAME/version
    FileReading taint;    // /sys/module/NAME/taint: "OE" for out of tree and unsigned
};

// NAME.ko* under every release in PATHS' lib/modules.
std::vector<ModuleFile> find_module_files(const KernelPaths& paths, std::string_view name);
LoadedModule read_loaded_module(const KernelPaths& paths, std::string_view name);

// The value of "vermagic=" in a module's .modinfo strings; nullopt when absent.
std::optional<std::string> module_vermagic(std::string_view contents);
// The marker the kernel's sign-file appends after the signature.
bool module_signature_appended(std::string_view contents);
// The release a vermagic names: its first word.
std::string vermagic_release(std::string_view vermagic);

} // namespace wcbroker
