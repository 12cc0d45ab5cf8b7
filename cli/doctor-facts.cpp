#include "doctor-facts.hpp"

#include "sysfs-files.hpp"

#include <cerrno>
#include <cstring>

namespace wcbroker::cli {
namespace {

DoctorDevice read_device(const KernelPaths& paths, const std::string& address)
{
    DoctorDevice device;
    device.address = address;
    device.dir = paths.pci_device(address);
    SysfsReadResult read = read_pci_device(paths, address);
    device.status = read.status;
    device.problem = read.problem;
    device.facts = std::move(read.facts);
    for (const std::string& member : device.facts.iommu_group_members)
        device.group_drivers.emplace_back(member, read_link_name(paths.pci_device(member) + "/driver").value_or(""));
    return device;
}

std::vector<std::string> vfio_pci_devices(const KernelPaths& paths)
{
    std::vector<std::string> found;
    for (const std::string& address : list_directory(paths.pci_devices_dir()).value_or(std::vector<std::string>{})) {
        if (read_link_name(paths.pci_device(address) + "/driver").value_or("") == "vfio-pci")
            found.push_back(address);
    }
    return found;
}

WcaliasFacts read_wcalias_facts(const KernelPaths& paths, bool root)
{
    WcaliasFacts facts;
    facts.module = read_loaded_module(paths, "wcalias");
    facts.modules_dir = paths.lib_modules();
    facts.files = find_module_files(paths, "wcalias");
    facts.debug_state = read_file_reading(paths.wcalias_debug_state(), 4 << 20);
    if (!facts.module.loaded) {
        facts.control_not_asked = "the module is not loaded";
    } else if (!root) {
        facts.control_not_asked = "opening " + paths.wcalias_device() + " needs root (CAP_SYS_RAWIO)";
    } else {
        const auto control = WcaliasControl::open(paths);
        facts.control = control->status();
        facts.write_combining_possible = control->write_combining_possible();
    }
    return facts;
}

PolicyFacts read_policy(const PolicyChoice& choice, bool root)
{
    PolicyFacts facts;
    LoadResult loaded = load_chosen_policy(choice, /*unknown_names_are_errors=*/false);
    if (loaded.policy) {
        facts.policy = std::move(loaded.policy);
        return facts;
    }
    for (const Diagnostic& diagnostic : loaded.diagnostics.all()) {
        if (diagnostic.severity == Severity::Error) {
            facts.problem = diagnostic.to_string();
            break;
        }
    }
    if (facts.problem.empty())
        facts.problem = "the policy could not be loaded";
    // The policy directories may be root's alone (/run/wcbroker/policy.d is 0700 under systemd).
    facts.needs_root = !root && facts.problem.find(std::strerror(EACCES)) != std::string::npos;
    return facts;
}

} // namespace

DoctorFacts read_doctor_facts(const KernelPaths& paths, const DoctorScope& scope, const PolicyChoice& policy, bool root)
{
    DoctorFacts facts;
    facts.root = root;
    facts.only_bar = scope.bar;
    facts.platform = read_platform_facts(paths);
    facts.iomem = read_file_reading(paths.proc_iomem(), 4 << 20);
    const std::vector<std::string> addresses = scope.device ? std::vector<std::string>{*scope.device} : vfio_pci_devices(paths);
    for (const std::string& address : addresses)
        facts.devices.push_back(read_device(paths, address));
    facts.vfio_fds = scan_vfio_fds(paths);
    facts.wcalias = read_wcalias_facts(paths, root);
    facts.policy = read_policy(policy, root);
    return facts;
}

} // namespace wcbroker::cli
