#!/bin/sh
# The wcalias module (kmod/) on a real kernel, through its uAPI alone, no
# daemon (issue 13): run-wcalias.sh boots this twice per kernel.
#   normal boot: the module is in the guest but not loaded; device A is bound
#     to vfio-pci, modprobe loads it, then wcalias-check runs every check of
#     kmod/uapi/wcalias.h's promises (wcalias-check.c says which), ending with
#     the driver unbind and the device removal;
#   lockdown=integrity on the command line: loading the unsigned module and
#     mapping resource2_wc are both refused (EPERM).
# "WCALIAS-PATTERN ..." lines tell the host check (wcalias-host.sh) what the
# unprivileged mappers wrote into ivshmem's backing file.
set -u
# shellcheck source-path=SCRIPTDIR source=../guest/checks.sh
. /usr/libexec/wcbroker-vm/checks.sh

A=${WCVM_DEV_A:-}
B=${WCVM_DEV_B:-}
KO=/usr/lib/modules/$(uname -r)/updates/dkms/wcalias.ko
# shellcheck disable=SC2317  # both called through check
not_loaded() { ! grep -q '^wcalias ' /proc/modules; }
# shellcheck disable=SC2317
no_oops() { ! dmesg | grep -qE 'BUG|WARNING|Call Trace|Oops'; }

if [ -z "$A" ] || [ -z "$B" ]; then
    fail "the guest has device A (ivshmem) and device B"
    exit 1
fi
check "wcalias.ko is installed for $(uname -r) ($KO)" [ -f "$KO" ]
check "the module is not loaded at boot" not_loaded
check "there is no /dev/wcalias before it is loaded" [ ! -e /dev/wcalias ]

case " $(cat /proc/cmdline) " in
*" lockdown="*)
    info "lockdown: $(cat /sys/kernel/security/lockdown 2>/dev/null)"
    if modprobe wcalias >/tmp/modprobe.out 2>&1; then
        fail "under lockdown, modprobe wcalias fails (it loaded)"
    else
        pass "under lockdown, modprobe wcalias fails: $(tr '\n' ' ' </tmp/modprobe.out)"
    fi
    wcalias-check lockdown "$KO" "$A"
    failures=$((failures + $?))
    exit "$failures"
    ;;
esac

bind_vfio "$A"
check "device A is bound to vfio-pci" [ "$(driver_of "$A")" = vfio-pci ]
bind_vfio "$B"
check "device B (non-prefetchable BAR0) is bound to vfio-pci" [ "$(driver_of "$B")" = vfio-pci ]
t0=$(cut -d' ' -f1 /proc/uptime)
if modprobe wcalias; then
    pass "modprobe wcalias loads it ($(awk -v t0="$t0" '{printf "%.0f ms", ($1 - t0) * 1000}' /proc/uptime))"
else
    fail "modprobe wcalias loads it"
fi
info "tainted: $(cat /proc/sys/kernel/tainted) (4096 out-of-tree, 8192 unsigned)"
check "/dev/wcalias appears" wait_until 50 test -c /dev/wcalias
t0=$(cut -d' ' -f1 /proc/uptime)
wcalias-check run "$A" "$B"
failures=$((failures + $?))
info "wcalias-check took $(awk -v t0="$t0" '{printf "%.1f s", $1 - t0}' /proc/uptime)"
# wcalias-check ends with the module unloaded: it loads again, and leaves nothing behind.
check "modprobe wcalias loads it again after the unload" modprobe wcalias
check "no wcalias line in /proc/iomem at the end" eval '! grep -q wcalias /proc/iomem'
dmesg | grep -E 'wcalias|vfio|BUG|WARNING|Call Trace' | sed 's/^/INFO: dmesg: /'
check "the kernel logged no BUG, WARNING or oops" no_oops
exit "$failures"
