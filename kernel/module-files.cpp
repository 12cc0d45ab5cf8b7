#include "module-files.hpp"

#include "sysfs-files.hpp"
#include "text-scan.hpp"

#include <filesystem>

namespace wcbroker {
namespace {

// "wcalias.ko" -> uncompressed; "wcalias.ko.xz" -> compressed; else not this module.
std::optional<bool> module_file_compression(const std::string& file, std::string_view name)
{
    const std::string base = std::string(name) + ".ko";
    if (file == base)
        return false;
    if (file == base + ".xz" || file == base + ".zst" || file == base + ".gz")
        return true;
    return std::nullopt;
}

} // namespace

std::optional<std::string> module_vermagic(std::string_view contents)
{
    constexpr std::string_view key = "vermagic=";
    // .modinfo is a run of NUL-terminated "key=value" strings; the key
    // starts a string, so it follows a NUL.
    for (std::size_t at = contents.find(key); at != std::string_view::npos; at = contents.find(key, at + 1)) {
        if (at != 0 && contents[at - 1] != '\0')
            continue;
        const std::size_t start = at + key.size();
        const std::size_t end = contents.find('\0', start);
        return std::string(contents.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    }
    return std::nullopt;
}

bool module_signature_appended(std::string_view contents)
{
    return contents.ends_with("~Module signature appended~\n");
}

std::string vermagic_release(std::string_view vermagic)
{
    return std::string(vermagic.substr(0, vermagic.find(' ')));
}

std::vector<ModuleFile> find_module_files(const KernelPaths& paths, std::string_view name)
{
    namespace fs = std::filesystem;
    std::vector<ModuleFile> found;
    const auto releases = list_directory(paths.lib_modules());
    if (!releases)
        return found;
    for (const std::string& release : *releases) {
        std::error_code error;
        fs::recursive_directory_iterator walk(paths.lib_modules() + "/" + release,
            fs::directory_options::skip_permission_denied, error);
        for (; !error && walk != fs::recursive_directory_iterator(); walk.increment(error)) {
            const auto compressed = module_file_compression(walk->path().filename().string(), name);
            if (!compressed || !walk->is_regular_file(error))
                continue;
            ModuleFile file;
            file.path = walk->path().string();
            file.release = release;
            file.compressed = *compressed;
            if (!file.compressed) {
                if (auto contents = read_text_file(file.path, 64 << 20)) {
                    file.vermagic = module_vermagic(*contents);
                    file.signature_appended = module_signature_appended(*contents);
                }
            }
            found.push_back(std::move(file));
        }
    }
    return found;
}

LoadedModule read_loaded_module(const KernelPaths& paths, std::string_view name)
{
    const std::string dir = paths.sys_module(name);
    LoadedModule module;
    module.loaded = path_exists(dir);
    module.version = read_file_reading(dir + "/version", 256);
    if (module.version.text)
        module.version.text = trimmed(*module.version.text);
    module.taint = read_file_reading(dir + "/taint", 256);
    if (module.taint.text)
        module.taint.text = trimmed(*module.taint.text);
    return module;
}

} // namespace wcbroker
