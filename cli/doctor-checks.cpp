#include "doctor-checks.hpp"

#include "byte-size.hpp"
#include "iomem.hpp"
#include "matching.hpp"
#include "pat-memtype-list.hpp"
#include "text-scan.hpp"
#include "vfio-features.hpp"

#include <algorithm>

namespace wcbroker::cli {
namespace {

// What the policy grants on one BAR (of the device as if bound to vfio-pci:
// an unbound device's grants are what binding it would serve).
struct BarGrants {
    std::vector<const Rule*> rules;
    std::vector<ByteRange> wc_ranges; // the write-combining ranges, whole BAR included
    bool any() const { return !rules.empty(); }
    bool wc() const { return !wc_ranges.empty(); }
    bool enforced = false; // a rule requires a kernel-enforced range (wcalias)
};

BarGrants grants_on(const Policy* policy, const DeviceFacts& facts, const BarFacts& bar)
{
    BarGrants grants;
    if (policy == nullptr)
        return grants;
    DeviceFacts bound = facts;
    bound.driver = "vfio-pci";
    for (const Rule& rule : policy->rules) {
        if (rule.bar != bar.index || !rule_device_matches(*policy, rule, bound))
            continue;
        grants.rules.push_back(&rule);
        grants.enforced = grants.enforced || rule.require_kernel_enforced_range;
        if (rule.access != Access::WriteCombine)
            continue;
        if (rule.whole_bar)
            grants.wc_ranges.push_back({0, bar.size});
        else
            grants.wc_ranges.insert(grants.wc_ranges.end(), rule.ranges.begin(), rule.ranges.end());
    }
    return grants;
}

std::string subjects_of(const Rule& rule)
{
    std::string text;
    auto add = [&text](const std::string& part) { text += (text.empty() ? "" : ", ") + part; };
    for (const UserSubject& user : rule.users)
        add("user " + (user.name.empty() ? std::to_string(user.uid.value_or(0)) : user.name));
    for (const GroupSubject& group : rule.groups)
        add("group " + (group.name.empty() ? std::to_string(group.gid.value_or(0)) : group.name));
    for (const std::string& unit : rule.units)
        add("unit " + unit);
    for (const std::string& cgroup : rule.cgroups)
        add("cgroup " + cgroup);
    return text.empty() ? "anyone" : text;
}

std::string hex(std::uint64_t value)
{
    return format_hex(value);
}

class Checker {
public:
    explicit Checker(const DoctorFacts& facts)
        : facts_(facts)
    {
    }

    DoctorReport run();

private:
    DoctorCheck& add(std::string id, const std::string& device, std::optional<std::uint32_t> bar, Verdict verdict,
        std::string finding, std::string file, std::string value, std::string remedy = {})
    {
        report_.checks.push_back(DoctorCheck{std::move(id), device, bar, verdict, std::move(finding), std::move(file),
            std::move(value), verdict == Verdict::Ok ? std::string() : std::move(remedy), false});
        return report_.checks.back();
    }
    // An unreadable file: unknown, marked when root would have read it.
    DoctorCheck& unreadable(std::string id, const std::string& device, std::optional<std::uint32_t> bar,
        const FileReading& reading, std::string remedy = {})
    {
        DoctorCheck& check = add(std::move(id), device, bar, Verdict::Unknown, "could not be read", reading.path,
            reading.why_unreadable(), reading.needs_root() ? "run as root" : std::move(remedy));
        check.needs_root = reading.needs_root();
        return check;
    }
    // Fail when something needs it, warn otherwise.
    static Verdict bad(bool needed) { return needed ? Verdict::Fail : Verdict::Warn; }

    void collect_grants();
    void platform_checks();
    void pat_check();
    void lockdown_check();
    void kernel_checks();
    void iommu_check();
    void wcalias_checks();
    void policy_load_check();
    void device_checks(const DoctorDevice& device);
    void bar_checks(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants);
    void wc_possible_check(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants);
    void iomem_check(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants);
    void vfio_holders_check(const DoctorDevice& device, const BarFacts& bar);
    void own_claim_check(const DoctorDevice& device, const BarFacts& bar);
    void pat_overlap_check(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants);
    void leases_check(const DoctorDevice& device, const BarFacts& bar);
    void mechanism_checks(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants);
    void policy_grant_checks(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants);

    std::optional<bool> pat_enabled() const;
    std::optional<bool> lockdown_on() const;
    std::optional<bool> wcalias_usable() const;
    bool sysfs_usable(const BarFacts& bar, Access access) const;

    const DoctorFacts& facts_;
    DoctorReport report_;
    bool any_grant_ = false;
    bool any_wc_grant_ = false;
    bool any_enforced_grant_ = false;
};

std::optional<bool> Checker::pat_enabled() const
{
    const PlatformFacts& p = facts_.platform;
    if (p.cmdline.text && has_word(*p.cmdline.text, "nopat"))
        return false;
    if (p.pat_list.readable())
        return true;
    if (p.pat_list.missing() && p.debugfs_x86)
        return false;
    return std::nullopt;
}

std::optional<bool> Checker::lockdown_on() const
{
    const FileReading& lockdown = facts_.platform.lockdown;
    if (lockdown.missing() && facts_.platform.securityfs)
        return false; // securityfs without a lockdown file: the kernel has no lockdown LSM
    if (!lockdown.text)
        return std::nullopt;
    const auto mode = selected_lockdown_mode(*lockdown.text);
    if (!mode)
        return std::nullopt;
    return *mode != "none";
}

std::optional<bool> Checker::wcalias_usable() const
{
    const WcaliasFacts& w = facts_.wcalias;
    if (w.control)
        return w.control->usable;
    if (!w.module.loaded)
        return false;
    return std::nullopt; // loaded, but only root may ask it
}

bool Checker::sysfs_usable(const BarFacts& bar, Access access) const
{
    if (lockdown_on().value_or(false))
        return false;
    return access == Access::WriteCombine ? bar.has_wc_file && pat_enabled().value_or(true) : bar.has_uc_file;
}

void Checker::collect_grants()
{
    const Policy* policy = facts_.policy.policy.get();
    for (const DoctorDevice& device : facts_.devices) {
        for (const BarFacts& bar : device.facts.bars) {
            if (facts_.only_bar && bar.index != *facts_.only_bar)
                continue;
            const BarGrants grants = grants_on(policy, device.facts, bar);
            any_grant_ = any_grant_ || grants.any();
            any_wc_grant_ = any_wc_grant_ || grants.wc();
            any_enforced_grant_ = any_enforced_grant_ || grants.enforced;
        }
    }
}

void Checker::pat_check()
{
    const PlatformFacts& p = facts_.platform;
    const char* remedy_on = "boot with PAT enabled: remove nopat from the kernel command line; keep SeaBIOS/UEFI "
                            "firmware (qboot disables PAT)";
    if (p.cmdline.text && has_word(*p.cmdline.text, "nopat")) {
        add("platform.pat", "", std::nullopt, bad(any_wc_grant_), "PAT disabled: nopat on the command line",
            p.cmdline.path, *p.cmdline.text, remedy_on);
        return;
    }
    if (p.pat_list.readable()) {
        add("platform.pat", "", std::nullopt, Verdict::Ok, "PAT enabled (the kernel keeps a PAT memtype list)",
            p.pat_list.path, "readable, " + std::to_string(parse_pat_memtype_list(*p.pat_list.text).size()) + " entries");
        return;
    }
    if (p.pat_list.missing() && p.debugfs_x86) {
        add("platform.pat", "", std::nullopt, bad(any_wc_grant_), "PAT disabled: debugfs has no PAT memtype list",
            p.pat_list.path, "not there", remedy_on);
        return;
    }
    // Only the hint is left: the CPU's flag says PAT exists, not that the kernel uses it.
    const bool cpu_pat = p.cpu_flags.text && has_word(*p.cpu_flags.text, "pat");
    if (p.cpu_flags.text && !cpu_pat) {
        add("platform.pat", "", std::nullopt, bad(any_wc_grant_), "the CPU has no PAT", p.cpu_flags.path,
            "flags without pat", "write-combining needs an x86 CPU with PAT (or another architecture's WC support)");
        return;
    }
    DoctorCheck& check = add("platform.pat", "", std::nullopt, Verdict::Unknown,
        cpu_pat ? "the CPU has PAT; whether the kernel enabled it is in debugfs" : "no evidence of PAT",
        p.pat_list.path, p.pat_list.why_unreadable() + (cpu_pat ? "; /proc/cpuinfo flags: pat" : ""),
        p.pat_list.needs_root() ? "run as root to read the PAT memtype list"
                                : "mount debugfs (mount -t debugfs none /sys/kernel/debug)");
    check.needs_root = p.pat_list.needs_root();
}

void Checker::lockdown_check()
{
    const FileReading& lockdown = facts_.platform.lockdown;
    if (lockdown.missing() && facts_.platform.securityfs) {
        add("platform.lockdown", "", std::nullopt, Verdict::Ok, "no kernel lockdown", lockdown.path, "not there");
        return;
    }
    if (lockdown.missing()) {
        add("platform.lockdown", "", std::nullopt, Verdict::Unknown, "securityfs is not mounted", lockdown.path,
            "not there", "mount -t securityfs securityfs /sys/kernel/security");
        return;
    }
    if (!lockdown.text) {
        unreadable("platform.lockdown", "", std::nullopt, lockdown);
        return;
    }
    const std::string mode = selected_lockdown_mode(*lockdown.text).value_or("?");
    if (mode == "none") {
        add("platform.lockdown", "", std::nullopt, Verdict::Ok, "kernel lockdown off", lockdown.path, *lockdown.text);
        return;
    }
    add("platform.lockdown", "", std::nullopt, bad(any_grant_), "kernel lockdown (" + mode + ") forbids BAR mappings",
        lockdown.path, *lockdown.text,
        "every sysfs resource mmap fails with EPERM and wcalias refuses to open: boot without lockdown "
        "(Secure Boot off, or lockdown=none where allowed)");
}

void Checker::kernel_checks()
{
    const PlatformFacts& p = facts_.platform;
    if (!p.release.text) {
        unreadable("platform.kernel", "", std::nullopt, p.release);
    } else if (auto version = KernelVersion::parse(*p.release.text); !version) {
        add("platform.kernel", "", std::nullopt, Verdict::Unknown, "kernel release not understood", p.release.path,
            *p.release.text);
    } else if (version->major >= 7) {
        add("platform.kernel", "", std::nullopt, Verdict::Ok,
            "7.x: vfio-pci claims every BAR when a VFIO user opens the device", p.release.path, *p.release.text);
    } else {
        add("platform.kernel", "", std::nullopt, Verdict::Ok,
            "6.x: vfio-pci claims a BAR when a VFIO user first maps or touches it", p.release.path, *p.release.text);
    }

    if (p.config.text) {
        const auto value = kernel_config_value(*p.config.text, "CONFIG_IO_STRICT_DEVMEM");
        if (value == "y")
            add("platform.strict-devmem", "", std::nullopt, Verdict::Ok,
                "a driver's claim revokes sysfs mappings of the BAR", p.config.path, "CONFIG_IO_STRICT_DEVMEM=y");
        else
            add("platform.strict-devmem", "", std::nullopt, Verdict::Warn,
                "claims do not revoke sysfs mappings: a VFIO user and a lease can share a BAR with two memory types",
                p.config.path, "CONFIG_IO_STRICT_DEVMEM=" + value.value_or("absent"),
                "keep VFIO users off the BARs wcbroker serves; the wcalias module's claims keep them off");
    } else {
        add("platform.strict-devmem", "", std::nullopt, Verdict::Unknown, "kernel configuration not found",
            p.config.path,
            p.config.why_unreadable() + (p.config_gz ? "; /proc/config.gz exists but is not read" : ""),
            "install the kernel's config-RELEASE file in /boot");
    }

    if (!p.release.text) {
        add("mechanism.dmabuf", "", std::nullopt, Verdict::Unknown, "kernel release unknown", p.release.path,
            p.release.why_unreadable());
        return;
    }
    std::string available;
    for (const VfioCapability& capability : vfio_capabilities(KernelVersion::parse(*p.release.text).value_or(KernelVersion{}))) {
        if (capability.available)
            available += (available.empty() ? "" : ", ") + capability.name;
    }
    add("mechanism.dmabuf", "", std::nullopt, Verdict::Ok,
        available.empty() ? "no VFIO DMA-BUF export in this kernel" : "VFIO DMA-BUF: " + available
            + " (no write-combining mmap in any kernel)",
        p.release.path, *p.release.text);
}

void Checker::iommu_check()
{
    const FileReading& groups = facts_.platform.iommu_groups;
    if (groups.text && !groups.text->empty()) {
        const auto count = std::count(groups.text->begin(), groups.text->end(), '\n');
        add("platform.iommu", "", std::nullopt, Verdict::Ok, "IOMMU present", groups.path,
            std::to_string(count) + " groups");
    } else if (groups.text || groups.missing()) {
        add("platform.iommu", "", std::nullopt, bad(any_grant_), "no IOMMU groups: vfio-pci cannot serve devices",
            groups.path, groups.text ? "empty" : "not there",
            "enable the IOMMU (intel_iommu=on or amd_iommu=on; in QEMU -device intel-iommu)");
    } else {
        unreadable("platform.iommu", "", std::nullopt, groups);
    }
}

void Checker::wcalias_checks()
{
    const WcaliasFacts& w = facts_.wcalias;
    const std::string release = facts_.platform.release.text.value_or("");
    const ModuleFile* for_running = nullptr;
    const ModuleFile* for_other = nullptr;
    for (const ModuleFile& file : w.files) {
        const std::string built_for = file.vermagic ? vermagic_release(*file.vermagic) : file.release;
        if (file.release == release && built_for == release)
            for_running = &file;
        else if (for_other == nullptr || built_for != release)
            for_other = &file;
    }
    const bool needed = any_enforced_grant_;
    const char* install = "install it for this kernel: apt install wcbroker-dkms (or dkms install wcalias), "
                          "then modprobe wcalias";

    // The module file for the running kernel.
    if (for_running != nullptr) {
        std::string value = for_running->compressed ? std::string("compressed: vermagic not read")
                                                    : "vermagic " + for_running->vermagic.value_or("absent");
        value += for_running->compressed ? "" : for_running->signature_appended ? ", signed" : ", unsigned";
        DoctorCheck& check = add("mechanism.wcalias-build", "", std::nullopt, Verdict::Ok,
            "built for the running kernel " + release, for_running->path, value);
        if (!for_running->compressed && !for_running->signature_appended && lockdown_on().value_or(false)) {
            check.verdict = bad(needed);
            check.finding = "unsigned: it cannot load under lockdown";
            check.remedy = "sign it with a key the kernel trusts (DKMS with a MOK key)";
        }
    } else if (for_other != nullptr) {
        const std::string built_for = for_other->vermagic ? vermagic_release(*for_other->vermagic) : for_other->release;
        add("mechanism.wcalias-build", "", std::nullopt, bad(needed),
            "built for another kernel (" + built_for + "), not for " + release, for_other->path,
            for_other->vermagic ? "vermagic " + *for_other->vermagic : "under lib/modules/" + for_other->release,
            "a module loads only into the exact kernel it was built for: " + std::string(install));
    } else {
        add("mechanism.wcalias-build", "", std::nullopt, w.module.loaded ? Verdict::Ok : bad(needed),
            w.module.loaded ? "loaded, no file found under lib/modules" : "not installed",
            w.modules_dir + "/" + release, "no wcalias.ko*",
            install);
    }

    // The loaded module, and whether wcbrokerd could use it.
    const std::string taint = w.module.taint.text.value_or("");
    std::string loaded_value = "version " + w.module.version.text.value_or("unknown")
        + (taint.empty() ? ", taint none" : ", taint " + taint);
    if (taint.find('E') != std::string::npos)
        loaded_value += " (E: unsigned)";
    if (!w.module.loaded) {
        add("mechanism.wcalias", "", std::nullopt, bad(needed),
            "not loaded: leases use the sysfs fallback (no kernel-enforced ranges)", w.module.version.path,
            "no /sys/module/wcalias", for_running != nullptr ? "modprobe wcalias" : install);
    } else if (!w.control) {
        DoctorCheck& check = add("mechanism.wcalias", "", std::nullopt, Verdict::Unknown,
            "loaded; whether wcbrokerd can use it: " + w.control_not_asked, w.module.version.path, loaded_value,
            "run as root");
        check.needs_root = !facts_.root;
    } else if (w.control->usable) {
        add("mechanism.wcalias", "", std::nullopt, Verdict::Ok,
            "loaded and usable, API " + std::to_string(w.control->api_version)
                + (w.write_combining_possible ? "" : " (uncached only: no PAT)"),
            w.module.version.path, loaded_value);
    } else {
        add("mechanism.wcalias", "", std::nullopt, bad(needed), "loaded but unusable: " + w.control->why_unusable,
            w.module.version.path, loaded_value, "see the reason; wcbrokerctl status shows the daemon's view");
    }
}

void Checker::policy_load_check()
{
    const PolicyFacts& p = facts_.policy;
    if (!p.policy && p.needs_root) {
        DoctorCheck& check = add("policy.load", "", std::nullopt, Verdict::Unknown,
            "the policy cannot be read by this user: grants unknown", "policy", p.problem, "run as root");
        check.needs_root = true;
        return;
    }
    if (!p.policy) {
        add("policy.load", "", std::nullopt, Verdict::Fail, "the policy does not load", "policy", p.problem,
            "fix it: wcbrokerctl check-policy lists every error");
        return;
    }
    std::string files;
    for (const std::string& file : p.policy->files)
        files += (files.empty() ? "" : ", ") + file;
    add("policy.load", "", std::nullopt, Verdict::Ok,
        std::to_string(p.policy->rules.size()) + " rule(s), mode " + std::string(enforcement_mode_name(p.policy->mode)),
        files.empty() ? "policy" : files, "loaded");
}

void Checker::device_checks(const DoctorDevice& device)
{
    const std::string& address = device.address;
    const std::string& where = device.dir;
    if (device.status == SysfsReadStatus::Gone) {
        add("device.present", address, std::nullopt, Verdict::Fail, "no such PCI device", where, "not there",
            "check the address with lspci -D");
        return;
    }
    if (device.status == SysfsReadStatus::Incomplete) {
        add("device.present", address, std::nullopt, Verdict::Unknown, "cannot read its attributes", where,
            device.problem);
        return;
    }
    bool has_grants = false;
    for (const BarFacts& bar : device.facts.bars)
        has_grants = has_grants || grants_on(facts_.policy.policy.get(), device.facts, bar).any();
    if (device.facts.driver == "vfio-pci") {
        add("device.driver", address, std::nullopt, Verdict::Ok, "bound to vfio-pci: wcbrokerd serves it",
            where + "/driver", "vfio-pci");
    } else {
        add("device.driver", address, std::nullopt, bad(has_grants),
            "not bound to vfio-pci: wcbrokerd does not serve it", where + "/driver",
            device.facts.driver.empty() ? "unbound" : device.facts.driver,
            "bind it to vfio-pci (wcbrokerctl autobind-rules writes udev rules for the policy's devices)");
    }

    if (!device.facts.iommu_group) {
        add("device.iommu-group", address, std::nullopt, bad(has_grants), "in no IOMMU group", where + "/iommu_group",
            "not there", "enable the IOMMU; vfio-pci needs it");
    } else {
        std::string members, blockers;
        for (const auto& [member, driver] : device.group_drivers) {
            members += (members.empty() ? "" : " ") + member + "=" + (driver.empty() ? "none" : driver);
            if (!driver.empty() && driver != "vfio-pci" && driver != "pci-stub" && driver != "pcieport")
                blockers += (blockers.empty() ? "" : ", ") + member + " (" + driver + ")";
        }
        const std::string group = std::to_string(*device.facts.iommu_group);
        if (blockers.empty())
            add("device.iommu-group", address, std::nullopt, Verdict::Ok, "group " + group + " is viable",
                where + "/iommu_group/devices", members);
        else
            add("device.iommu-group", address, std::nullopt, Verdict::Warn,
                "group " + group + " is not viable: " + blockers, where + "/iommu_group/devices", members,
                "bind every device of the group to vfio-pci (or unbind it), or VFIO users cannot open the group");
    }

    for (const BarFacts& bar : device.facts.bars) {
        if (facts_.only_bar && bar.index != *facts_.only_bar)
            continue;
        bar_checks(device, bar, grants_on(facts_.policy.policy.get(), device.facts, bar));
    }
    if (facts_.only_bar && device.facts.bar(*facts_.only_bar) == nullptr)
        add("bar.memory", address, facts_.only_bar, Verdict::Fail, "no such BAR (absent or empty)",
            where + "/resource", "no line with a size", "name one of the device's BARs");
}

void Checker::bar_checks(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants)
{
    const std::string& address = device.address;
    const std::string& dir = device.dir;
    const std::string resource_line = hex(bar.start) + " " + hex(bar.start + bar.size - 1) + " " + hex(bar.flags);

    if (!bar.is_memory())
        add("bar.memory", address, bar.index, bad(grants.any()), "an I/O port BAR: nothing to map", dir + "/resource",
            resource_line, "grant a memory BAR instead");
    else
        add("bar.memory", address, bar.index, Verdict::Ok,
            std::string("memory, ") + (bar.kind == BarKind::Memory64 ? "64-bit" : "32-bit") + ", "
                + format_byte_size(bar.size),
            dir + "/resource", resource_line);

    if (bar.is_memory()) {
        if (bar.prefetchable)
            add("bar.prefetchable", address, bar.index, Verdict::Ok, "prefetchable", dir + "/resource", resource_line);
        else
            add("bar.prefetchable", address, bar.index, grants.wc() ? Verdict::Fail : Verdict::Ok,
                grants.wc() ? "not prefetchable: write-combining is impossible" : "not prefetchable: uncached only",
                dir + "/resource", resource_line,
                "grant uncached access on this BAR instead; write-combining needs a prefetchable BAR");
        const std::string wc_file = dir + "/resource" + std::to_string(bar.index) + "_wc";
        if (bar.has_wc_file)
            add("bar.wc-file", address, bar.index, Verdict::Ok, "resource" + std::to_string(bar.index) + "_wc present",
                wc_file, "present");
        else
            add("bar.wc-file", address, bar.index,
                grants.wc() && bar.prefetchable && !wcalias_usable().value_or(false) ? Verdict::Fail
                    : bar.prefetchable                                              ? Verdict::Warn
                                                                                    : Verdict::Ok,
                "no resource" + std::to_string(bar.index) + "_wc: the sysfs fallback cannot map it write-combining",
                wc_file, "not there",
                bar.prefetchable ? "the kernel offers _wc files only with PAT: boot with PAT enabled" : "");
    }

    wc_possible_check(device, bar, grants);
    iomem_check(device, bar, grants);
    vfio_holders_check(device, bar);
    own_claim_check(device, bar);
    pat_overlap_check(device, bar, grants);
    leases_check(device, bar);
    mechanism_checks(device, bar, grants);
    policy_grant_checks(device, bar, grants);
}

// The BAR's own summary: could anything map it write-combining here, and
// the first reason why not. Claims and existing mappings are their own checks.
void Checker::wc_possible_check(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants)
{
    const std::optional<bool> pat = pat_enabled();
    const std::optional<bool> lockdown = lockdown_on();
    const std::optional<bool> wcalias = wcalias_usable();
    const bool wcalias_wc = wcalias.value_or(false) && facts_.wcalias.write_combining_possible;
    const std::string evidence = std::string(bar.is_memory() ? "memory" : "I/O")
        + (bar.prefetchable ? ", prefetchable" : ", not prefetchable")
        + ", PAT " + (pat ? (*pat ? "on" : "off") : "unknown")
        + ", lockdown " + (lockdown ? (*lockdown ? "on" : "off") : "unknown")
        + ", resource" + std::to_string(bar.index) + "_wc " + (bar.has_wc_file ? "present" : "absent")
        + ", wcalias " + (wcalias ? (wcalias_wc ? "usable for WC" : "not usable for WC") : "unknown");
    std::string blocker;
    if (!bar.is_memory())
        blocker = "an I/O BAR";
    else if (!bar.prefetchable)
        blocker = "not prefetchable";
    else if (pat == false)
        blocker = "PAT is off";
    else if (lockdown == true)
        blocker = "kernel lockdown";
    else if (!bar.has_wc_file && wcalias == false)
        blocker = "no resource" + std::to_string(bar.index) + "_wc and no usable wcalias module";
    const std::string file = device.dir + "/resource";
    if (!blocker.empty()) {
        add("bar.wc-possible", device.address, bar.index, grants.wc() ? Verdict::Fail : Verdict::Ok,
            "write-combining impossible: " + blocker, file, evidence, "see the check that names the cause");
    } else if (!pat || !lockdown || (!bar.has_wc_file && !wcalias)) {
        std::string unknown;
        if (!pat)
            unknown += "PAT (see platform.pat)";
        if (!lockdown)
            unknown += std::string(unknown.empty() ? "" : ", ") + "lockdown (see platform.lockdown)";
        if (!bar.has_wc_file && !wcalias)
            unknown += std::string(unknown.empty() ? "" : ", ") + "wcalias (see mechanism.wcalias)";
        const bool for_root = !facts_.root && (!pat || (!bar.has_wc_file && !wcalias));
        DoctorCheck& check = add("bar.wc-possible", device.address, bar.index, Verdict::Unknown,
            "write-combining possible unless " + unknown + " forbids it", file, evidence,
            for_root ? "run as root" : "see the checks named");
        check.needs_root = for_root;
    } else {
        add("bar.wc-possible", device.address, bar.index, Verdict::Ok,
            std::string("write-combining possible through ") + (wcalias_wc ? "wcalias" : "")
                + (wcalias_wc && bar.has_wc_file ? " and " : "") + (bar.has_wc_file ? "sysfs" : ""),
            file, evidence);
    }
}

void Checker::iomem_check(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants)
{
    const FileReading& iomem = facts_.iomem;
    if (!iomem.text) {
        unreadable("holders.iomem", device.address, bar.index, iomem);
        return;
    }
    const auto entries = parse_iomem(*iomem.text);
    const bool addresses_hidden = std::all_of(entries.begin(), entries.end(), [](const IomemEntry& e) { return e.start == 0 && e.end == 0; });
    if (addresses_hidden) {
        DoctorCheck& check = add("holders.iomem", device.address, bar.index, Verdict::Unknown,
            "claimant unknown: /proc/iomem shows zeros to this user", iomem.path, "addresses 00000000-00000000",
            "run as root");
        check.needs_root = true;
        return;
    }
    const std::string range = hex(bar.start) + "-" + hex(bar.start + bar.size - 1);
    const auto claimant = bar_claimant(entries, device.address, bar.start, bar.size);
    if (!claimant) {
        add("holders.iomem", device.address, bar.index, Verdict::Ok, "no driver holds the BAR", iomem.path,
            range + " : " + device.address + " (no claim below it)");
    } else if (is_wcalias_claim(*claimant)) {
        add("holders.iomem", device.address, bar.index, Verdict::Ok, "held by wcalias: wcbrokerd's own claim",
            iomem.path, range + " : " + *claimant);
    } else {
        add("holders.iomem", device.address, bar.index, bad(grants.any()), "held by " + *claimant + ": " + describe_claimant(*claimant),
            iomem.path, range + " : " + *claimant,
            "sysfs leases of this BAR are refused and revoked while it is held: keep VFIO users off this BAR "
            "(on 7.x kernels, out of the whole device) and let them map it only through wcbroker");
    }
}

void Checker::vfio_holders_check(const DoctorDevice& device, const BarFacts& bar)
{
    const VfioFdScan& scan = facts_.vfio_fds;
    if (!scan.proc_readable) {
        add("holders.vfio", device.address, bar.index, Verdict::Unknown, "cannot list processes", scan.proc_dir, "unreadable");
        return;
    }
    std::string holders;
    unsigned device_fds = 0;
    for (const VfioFdHolder& holder : scan.holders) {
        if (is_vfio_device_fd(holder.target)) {
            ++device_fds;
            continue;
        }
        if (!device.facts.iommu_group || vfio_group_of_target(holder.target) != device.facts.iommu_group)
            continue;
        holders += (holders.empty() ? "" : "; ") + std::string("pid ") + std::to_string(holder.pid) + " (" + holder.comm
            + (holder.unit ? ", " + *holder.unit : "") + ") has " + holder.target + " open";
    }
    const std::string group = device.facts.iommu_group ? "/dev/vfio/" + std::to_string(*device.facts.iommu_group) : "no group";
    std::string note;
    if (device_fds != 0)
        note = "; " + std::to_string(device_fds) + " VFIO device fd(s) open (anon_inode:[vfio-device] names no device)";
    const bool seven = facts_.platform.release.text && KernelVersion::parse(*facts_.platform.release.text)
        && KernelVersion::parse(*facts_.platform.release.text)->major >= 7;
    if (!holders.empty()) {
        add("holders.vfio", device.address, bar.index, Verdict::Warn, "a VFIO user has the device's group open",
            scan.proc_dir + "/*/fd", holders + note,
            seven ? "on 7.x an open device has every BAR claimed: close it, or map this BAR only through wcbroker"
                  : "if it maps or touches this BAR, vfio-pci claims it and sysfs leases die: map it only through "
                    "wcbroker");
        return;
    }
    if (!scan.unreadable.empty()) {
        DoctorCheck& check = add("holders.vfio", device.address, bar.index, Verdict::Unknown,
            "no holder of " + group + " among the readable processes", scan.proc_dir + "/*/fd",
            std::to_string(scan.unreadable.size()) + " processes' fds unreadable: needs root" + note, "run as root");
        check.needs_root = true;
        return;
    }
    add("holders.vfio", device.address, bar.index, Verdict::Ok, "no process has " + group + " open", scan.proc_dir + "/*/fd",
        "no link to " + group + note);
}

void Checker::own_claim_check(const DoctorDevice& device, const BarFacts& bar)
{
    const FileReading& state = facts_.wcalias.debug_state;
    if (!facts_.wcalias.module.loaded) {
        add("holders.wcbroker", device.address, bar.index, Verdict::Ok, "no wcalias claim (module not loaded)",
            state.path, "not there");
        return;
    }
    if (!state.text) {
        DoctorCheck& check = unreadable("holders.wcbroker", device.address, bar.index, state,
            "mount debugfs to see the module's claims");
        check.needs_root = state.needs_root();
        return;
    }
    const std::string claim = "claim " + device.address + " bar " + std::to_string(bar.index) + " ";
    const std::string alias = " " + device.address + " bar " + std::to_string(bar.index) + " ";
    std::string claim_line;
    unsigned aliases = 0;
    std::string_view text = *state.text;
    while (!text.empty()) {
        const std::string_view line = take_line(text);
        if (line.starts_with(claim))
            claim_line = std::string(line);
        else if (line.starts_with("alias ") && line.find(alias) != std::string_view::npos)
            ++aliases;
    }
    if (claim_line.empty())
        add("holders.wcbroker", device.address, bar.index, Verdict::Ok, "not claimed through wcalias", state.path,
            "no claim line for this BAR");
    else
        add("holders.wcbroker", device.address, bar.index, Verdict::Ok,
            "claimed through wcalias, " + std::to_string(aliases) + " live alias(es)", state.path, claim_line);
}

void Checker::pat_overlap_check(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants)
{
    const FileReading& list = facts_.platform.pat_list;
    if (!list.text) {
        unreadable("kernel.pat-overlap", device.address, bar.index, list);
        return;
    }
    std::string downgrading, all;
    for (const PatEntry& entry : parse_pat_memtype_list(*list.text)) {
        if (entry.end <= bar.start || entry.start >= bar.start + bar.size)
            continue;
        const std::string text = "[" + hex(entry.start) + "-" + hex(entry.end) + ") " + std::string(memtype_name(entry.type));
        all += (all.empty() ? "" : "; ") + text;
        if (entry.type == Memtype::WriteCombining)
            continue;
        const std::uint64_t start = entry.start - std::min(entry.start, bar.start);
        const std::uint64_t end = std::min(entry.end, bar.start + bar.size) - bar.start;
        for (const ByteRange& range : grants.wc_ranges) {
            if (range.offset < end && start < range.end()) {
                downgrading += (downgrading.empty() ? "" : "; ") + text;
                break;
            }
        }
    }
    if (!downgrading.empty())
        add("kernel.pat-overlap", device.address, bar.index, Verdict::Fail,
            "a non-WC mapping covers a write-combining grant: new WC mappings there become uncached", list.path,
            downgrading,
            "the existing mapping wins: find its owner (a VFIO user's UC- map of the BAR, an uncached lease) and end it");
    else
        add("kernel.pat-overlap", device.address, bar.index, Verdict::Ok,
            all.empty() ? "no mapping of the BAR in the PAT list" : "nothing would downgrade a WC grant", list.path,
            all.empty() ? "no entry overlaps the BAR" : all);
}

void Checker::leases_check(const DoctorDevice& device, const BarFacts& bar)
{
    const DaemonFacts& daemon = facts_.daemon;
    if (!daemon.reachable) {
        add("leases.memtype", device.address, bar.index, Verdict::Unknown, "wcbrokerd does not answer: no lease view",
            "org.wcbroker.Broker1", daemon.why_not, "start wcbrokerd to see its leases (not needed for the other checks)");
        return;
    }
    std::string listed, wrong;
    for (const DoctorLease& lease : daemon.leases) {
        if (lease.address != device.address || lease.bar != bar.index)
            continue;
        const std::string text = "lease " + std::to_string(lease.id) + " uid " + std::to_string(lease.uid) + " "
            + lease.access + " " + describe_range(lease.offset, lease.length) + " " + lease.memtype + " via "
            + lease.mechanism;
        listed += (listed.empty() ? "" : "; ") + text;
        if (lease.access == "write-combine" && lease.memtype != "write-combining")
            wrong += (wrong.empty() ? "" : "; ") + text;
    }
    if (!wrong.empty())
        add("leases.memtype", device.address, bar.index, Verdict::Warn,
            "a write-combining lease is not verified write-combining", "org.wcbroker.Broker1 leases", wrong,
            "see kernel.pat-overlap and platform.pat; require_verified_wc in the rule refuses such leases");
    else
        add("leases.memtype", device.address, bar.index, Verdict::Ok,
            listed.empty() ? "no live leases" : "live leases have their types", "org.wcbroker.Broker1 leases",
            listed.empty() ? "none" : listed);
}

void Checker::mechanism_checks(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants)
{
    const std::string dir = device.dir + "/resource" + std::to_string(bar.index);
    const bool wc = sysfs_usable(bar, Access::WriteCombine);
    const bool uc = sysfs_usable(bar, Access::Uncached);
    if (wc)
        add("mechanism.sysfs", device.address, bar.index, Verdict::Ok, "sysfs fallback can map it write-combining",
            dir + "_wc", "present");
    else if (uc)
        add("mechanism.sysfs", device.address, bar.index, grants.wc() ? Verdict::Warn : Verdict::Ok,
            "sysfs fallback can map it uncached only", dir, "present; " + dir + "_wc not usable",
            "write-combining needs a prefetchable BAR, PAT and no lockdown");
    else
        add("mechanism.sysfs", device.address, bar.index, grants.any() ? Verdict::Warn : Verdict::Ok,
            "sysfs fallback cannot map it", dir,
            lockdown_on().value_or(false) ? "kernel lockdown" : "no resource file",
            "see platform.lockdown and bar.memory");
}

void Checker::policy_grant_checks(const DoctorDevice& device, const BarFacts& bar, const BarGrants& grants)
{
    const std::string file = "policy";
    if (!facts_.policy.policy) {
        DoctorCheck& check = add("policy.grants", device.address, bar.index, Verdict::Unknown,
            "the policy is not loaded (see policy.load)", file, facts_.policy.problem,
            facts_.policy.needs_root ? "run as root" : "fix the policy");
        check.needs_root = facts_.policy.needs_root;
        return;
    }
    if (!grants.any()) {
        add("policy.grants", device.address, bar.index, Verdict::Ok, "no rule grants this BAR", file, "none");
        return;
    }
    std::string rules;
    for (const Rule* rule : grants.rules) {
        rules += (rules.empty() ? "" : "; ") + rule->label() + " " + std::string(access_name(rule->access)) + " "
            + (rule->whole_bar ? std::string("whole BAR") : std::to_string(rule->ranges.size()) + " range(s)")
            + " to " + subjects_of(*rule);
    }
    add("policy.grants", device.address, bar.index, Verdict::Ok,
        std::to_string(grants.rules.size()) + " rule(s) grant this BAR", file, rules);

    // Whether the mechanism each grant needs can serve it here.
    const std::optional<bool> wcalias = wcalias_usable();
    const bool wcalias_wc = wcalias.value_or(false) && facts_.wcalias.write_combining_possible;
    std::string blocked, unknown;
    for (const Rule* rule : grants.rules) {
        const bool want_wc = rule->access == Access::WriteCombine;
        const bool by_wcalias = wcalias.value_or(false) && (!want_wc || wcalias_wc) && bar.is_memory()
            && (!want_wc || bar.prefetchable);
        const bool by_sysfs = !rule->require_kernel_enforced_range && sysfs_usable(bar, rule->access)
            && (!want_wc || bar.prefetchable);
        if (by_wcalias || by_sysfs)
            continue;
        if (!wcalias.has_value() && bar.is_memory() && (!want_wc || bar.prefetchable))
            unknown += (unknown.empty() ? "" : "; ") + rule->label();
        else
            blocked += (blocked.empty() ? "" : "; ") + rule->label()
                + (rule->require_kernel_enforced_range ? " (needs wcalias: require_kernel_enforced_range)" : "");
    }
    const std::string usable = std::string("wcalias ") + (wcalias ? (*wcalias ? "usable" : "unusable") : "unknown")
        + ", sysfs " + (sysfs_usable(bar, Access::WriteCombine) ? "wc+uc" : sysfs_usable(bar, Access::Uncached) ? "uc" : "no");
    if (!blocked.empty())
        add("policy.mechanism", device.address, bar.index, Verdict::Fail, "no usable mechanism for " + blocked, file,
            usable, "see the failing mechanism.* and bar.* checks above");
    else if (!unknown.empty()) {
        DoctorCheck& check = add("policy.mechanism", device.address, bar.index, Verdict::Unknown,
            "depends on wcalias, which only root may ask: " + unknown, file, usable, "run as root");
        check.needs_root = !facts_.root;
    } else
        add("policy.mechanism", device.address, bar.index, Verdict::Ok, "every grant has a usable mechanism", file, usable);
}

void Checker::platform_checks()
{
    pat_check();
    lockdown_check();
    kernel_checks();
    iommu_check();
    wcalias_checks();
    policy_load_check();
}

DoctorReport Checker::run()
{
    collect_grants();
    platform_checks();
    for (const DoctorDevice& device : facts_.devices)
        device_checks(device);
    return std::move(report_);
}

} // namespace

std::string_view verdict_name(Verdict verdict)
{
    switch (verdict) {
    case Verdict::Ok: return "ok";
    case Verdict::Warn: return "warn";
    case Verdict::Fail: return "fail";
    case Verdict::Unknown: return "unknown";
    }
    return "unknown";
}

bool DoctorReport::healthy() const
{
    return std::none_of(checks.begin(), checks.end(), [](const DoctorCheck& c) { return c.verdict == Verdict::Fail; });
}

std::vector<std::string> DoctorReport::not_run_without_root() const
{
    std::vector<std::string> ids;
    for (const DoctorCheck& check : checks) {
        if (!check.needs_root)
            continue;
        std::string id = check.id;
        if (!check.device.empty())
            id += "@" + check.device + (check.bar ? "/" + std::to_string(*check.bar) : "");
        ids.push_back(std::move(id));
    }
    return ids;
}

DoctorReport run_doctor_checks(const DoctorFacts& facts)
{
    return Checker(facts).run();
}

} // namespace wcbroker::cli
