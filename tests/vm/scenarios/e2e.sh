#!/bin/sh
# wcbroker end to end on a real kernel (issue #5): the project's own
# wcbrokerd, wcbrokerctl and libwcbroker, the shipped bus policy and udev
# rules, a real vfio-pci, a real PAT memtype list. Runs as PID 1's child in
# the guest (busybox sh, as root); unprivileged steps drop ids with setids.
#
# Narration lines start with "==" (a step) or three spaces (what was asked,
# what the kernel did, what was verified); checks are PASS:/FAIL: lines.
# "WCVM-E2E-PATTERN offset=N length=N pattern=TEXT" lines tell the host
# check (e2e-host.sh) what it must find in ivshmem's backing file.
set -u
# shellcheck source-path=SCRIPTDIR source=../guest/checks.sh
. /usr/libexec/wcbroker-vm/checks.sh

A=${WCVM_DEV_A:-}
B=${WCVM_DEV_B:-}
LOG=/tmp/wcbrokerd.log
alice() { setids 1000 1000,2000 -- "$@"; } # uid 1000, also in group 2000 (wcuc)
bob() { setids 1001 1001 -- "$@"; }
# For clients started in the background: a plain command, so that $! is the
# client itself (a backgrounded function would be a subshell).
ALICE="setids 1000 1000,2000 --"

# The PAT memtype list line covering [START, START + LENGTH), if any.
pat_covering() {
    start=$(($1)) end=$(($1 + $2))
    sed -n 's/^PAT: \[mem 0x\([0-9a-f]*\)-0x\([0-9a-f]*\)\] \(.*\)$/\1 \2 \3/p' /sys/kernel/debug/x86/pat_memtype_list |
        while read -r s e type; do
            if [ $((0x$s)) -le $start ] && [ $((0x$e)) -ge $end ]; then
                echo "$type"
                break
            fi
        done
}

# doctor_says FILE VERDICT ID WHERE TEXT: FILE (wcbrokerctl doctor's text) has the line
# "VERDICT  WHERE  ID  ...TEXT..." (columns are padded with spaces).
doctor_says() {
    grep -q "^$2  *$4  *$3  .*$5" "$1"
}
# doctor_run NAME [ARGS...]: wcbrokerctl doctor ARGS as root, text to /tmp/NAME.out and
# JSON to /tmp/NAME.json; prints its exit status.
doctor_run() {
    name=$1
    shift
    wcbrokerctl doctor "$@" >"/tmp/$name.out" 2>&1
    echo $?
    wcbrokerctl doctor --json "$@" >"/tmp/$name.json" 2>&1
}
# The same as uid 1001, who may not read debugfs, root's fds or /proc/iomem's addresses.
doctor_run_bob() {
    name=$1
    shift
    bob wcbrokerctl doctor "$@" >"/tmp/$name.out" 2>&1
    echo $?
}

if [ -z "$A" ] || [ -z "$B" ]; then
    fail "the guest has device A (ivshmem) and device B"
    exit 1
fi

# --- 1 -------------------------------------------------------------------------------
step "1. wcbrokerd starts with a policy: BAR2 of device A write-combining for uid 1000, its first 4 KiB uncached for group 2000"
say "device A: $A, ivshmem, BAR2 prefetchable 64-bit (backed by a file on the host)"
say "device B: $B, BARs not prefetchable; bound to vfio-pci before the daemon starts"
bind_vfio "$B"
check "device B is bound to vfio-pci" [ "$(basename "$(readlink "$SYS/$B/driver")")" = vfio-pci ]
if wcbrokerctl check-policy >/tmp/check-policy.out 2>&1 && grep -q 'file /etc/wcbroker/policy.toml' /tmp/check-policy.out; then
    pass "wcbrokerctl check-policy accepts /etc/wcbroker/policy.toml"
else
    fail "wcbrokerctl check-policy accepts /etc/wcbroker/policy.toml"
    cat /tmp/check-policy.out
fi
sed 's/^/   | /' /tmp/check-policy.out
wcbrokerd --log-level info 2>"$LOG" &
daemon=$!
check "wcbrokerd owns org.wcbroker.Broker1 on the system bus" wait_for wcbrokerctl list-devices
check "wcbrokerd listens to udev's events (udevd runs)" contains "$LOG" "watching udev uevents"
check "device B is served from cold-plug" served "$B"
wcbrokerctl monitor --json >/tmp/monitor.log 2>&1 &
monitor=$!
wait_for contains /tmp/monitor.log '"watching"'

# --- 2 -------------------------------------------------------------------------------
step "2. Device A is bound to vfio-pci after the daemon started (driver_override + drivers_probe)"
check "device A is not served before the bind" not_served "$A"
bind_vfio "$A"
check "the daemon saw the hotplug bind and serves device A" wait_for served "$A"
check "wcbrokerctl monitor saw DeviceAdded for A" wait_for contains /tmp/monitor.log "\"device-added\".*$A\|$A.*\"device-added\""
say "udev's record of the bind (our rules ran):"
udevadm info "$SYS/$A" | grep -E 'TAGS|SYSTEMD_WANTS|DRIVER' | sed 's/^/   | /'
check "udev rules tagged A for systemd" sh -c "udevadm info '$SYS/$A' | grep -q 'TAGS=.*:systemd:'"
check "udev rules pull in wcbrokerd.service for A" sh -c "udevadm info '$SYS/$A' | grep -q 'SYSTEMD_WANTS=wcbrokerd.service'"
check "udevadm test parses the shipped rules for a bind" sh -c "udevadm test --action=bind '$SYS/$A' >/tmp/udevadm-test.log 2>&1"
wcbrokerctl show-device "$A" | sed 's/^/   | /'

# --- 3 -------------------------------------------------------------------------------
step "3. uid 1000 acquires BAR2 [0x1000, 1 MiB) write-combining over D-Bus, maps it, writes a pattern"
a_bar2=$(bar_start "$A" 2)
say "asked: wcbrokerctl acquire --access wc $A 2 0x1000 0xff000 (as uid 1000)"
$ALICE wcbrokerctl acquire --json --access wc --write-pattern "WCBROKER-E2E-" --hold "$A" 2 0x1000 0xff000 \
    >/tmp/alice-wc.log 2>&1 &
alice_wc=$!
if wait_for contains /tmp/alice-wc.log '"event" : "wrote"'; then
    pass "uid 1000 got an fd, mapped it and wrote through it"
else
    fail "uid 1000 got an fd, mapped it and wrote through it"
fi
sed 's/^/   | /' /tmp/alice-wc.log
check "the lease reports memtype write-combining" contains /tmp/alice-wc.log '"memtype" : "write-combining"'
memtype=$(pat_covering $((a_bar2 + 0x1000)) 0xff000)
say "kernel: /sys/kernel/debug/x86/pat_memtype_list says '${memtype:-nothing}' for [$a_bar2 + 0x1000, +0xff000) while the client holds it"
check "the kernel's PAT memtype list agrees: write-combining" [ "$memtype" = write-combining ]
echo "WCVM-E2E-PATTERN offset=4096 length=1044480 pattern=WCBROKER-E2E-"
check "the lease is listed" sh -c "wcbrokerctl list-leases | grep -q 'write-combining.*1000'"

# --- 4 -------------------------------------------------------------------------------
step "4. uid 1001 is denied; uid 1000 is refused outside its grant"
if bob wcbrokerctl acquire --access wc "$A" 2 0x1000 0x1000 >/tmp/bob.out 2>/tmp/bob.err; then
    fail "uid 1001 is denied"
else
    pass "uid 1001 is denied (exit $?)"
fi
sed 's/^/   | /' /tmp/bob.err
check "the refusal is AccessDenied and names the nearest rule" sh -c "grep -q 'nearest is rule .alice-wc.' /tmp/bob.err && grep -q 'Permission denied' /tmp/bob.err"
check "uid 1001 got no fd (no lease, nothing mapped)" sh -c "! grep -q 'Lease:' /tmp/bob.out && ! wcbrokerctl list-leases | grep -q ' 1001 '"
check "the audit log records the denial with the rule that did not match" sh -c \
    "grep 'kind=acquire-denied' '$LOG' | grep 'uid=1001' | grep -q \"nearest_rule=\\\"'alice-wc'\""
grep 'kind=acquire-denied' "$LOG" | tail -1 | sed 's/^/   | /'
check "uid 1000 is refused write-combining on the uncached page" sh -c \
    "! setids 1000 1000,2000 -- wcbrokerctl acquire --access wc '$A' 2 0 0x1000 2>/tmp/alice-out.err"
sed 's/^/   | /' /tmp/alice-out.err
check "uid 1000 is refused a range past the end of the BAR" sh -c \
    "! setids 1000 1000,2000 -- wcbrokerctl acquire --access wc '$A' 2 0x100000 0x1000 2>/tmp/alice-past.err && grep -q 'does not fit in BAR 2' /tmp/alice-past.err"
sed 's/^/   | /' /tmp/alice-past.err

# --- 5 -------------------------------------------------------------------------------
step "5. Group 2000 gets the first 4 KiB uncached"
$ALICE wcbrokerctl acquire --json --access uc --write-pattern "UC-PAGE-" --hold "$A" 2 0 0x1000 >/tmp/alice-uc.log 2>&1 &
alice_uc=$!
check "a member of group 2000 maps the uncached page" wait_for contains /tmp/alice-uc.log '"event" : "wrote"'
sed 's/^/   | /' /tmp/alice-uc.log
check "the lease reports memtype uncached-minus" contains /tmp/alice-uc.log '"memtype" : "uncached-minus"'
memtype=$(pat_covering "$a_bar2" 0x1000)
say "kernel: the PAT memtype list says '${memtype:-nothing}' for [$a_bar2, +0x1000)"
check "the kernel's PAT memtype list agrees: uncached-minus" [ "$memtype" = uncached-minus ]
echo "WCVM-E2E-PATTERN offset=0 length=4096 pattern=UC-PAGE-"
kill -TERM $alice_uc
wait $alice_uc
check "the uncached client let go when asked (SIGTERM)" contains /tmp/alice-uc.log '"event" : "released"'

# --- 6 -------------------------------------------------------------------------------
step "6. Write-combining on device B is refused: its BAR is not prefetchable"
say "the policy (rule edu-wc-by-mistake) even allows it; the kernel cannot do it"
if alice wcbrokerctl acquire --access wc "$B" 0 0 0x1000 2>/tmp/b.err; then
    fail "write-combining on device B is refused"
else
    pass "write-combining on device B is refused"
fi
sed 's/^/   | /' /tmp/b.err
check "the reason names the cause: not prefetchable" contains /tmp/b.err "is not prefetchable"

# --- 6b ------------------------------------------------------------------------------
step "6b. wcbrokerctl doctor on BAR2 of A before any VFIO user: everything the grants need holds"
# Where the lockdown mode is read (systemd mounts it on a real host).
mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security
status=$(doctor_run doctor-before "$A" 2)
sed 's/^/   | /' /tmp/doctor-before.out
check "doctor exits 0 (grants served)" [ "$status" = 0 ]
check "doctor: PAT enabled, read from the PAT memtype list" doctor_says /tmp/doctor-before.out ok platform.pat platform "PAT enabled"
check "doctor: kernel lockdown off, read from securityfs" doctor_says /tmp/doctor-before.out ok platform.lockdown platform "kernel lockdown off"
check "doctor: the kernel's CONFIG_IO_STRICT_DEVMEM=y is read from /boot" sh -c "grep -q 'config-.*: CONFIG_IO_STRICT_DEVMEM=y' /tmp/doctor-before.out"
check "doctor: BAR2 is held by no driver" doctor_says /tmp/doctor-before.out ok holders.iomem "$A BAR 2" "no driver holds the BAR"
check "doctor: no process has the VFIO group open" doctor_says /tmp/doctor-before.out ok holders.vfio "$A BAR 2" "no process has /dev/vfio/"
check "doctor: the live lease is listed write-combining" sh -c "grep -q 'lease [0-9]* uid 1000 write-combine .* write-combining via sysfs-wc' /tmp/doctor-before.out"
check "doctor: without the module, wcalias is a warning only" doctor_says /tmp/doctor-before.out warn mechanism.wcalias platform "not loaded"
check "doctor --json: schema 1, healthy" sh -c "grep -q '\"schema\" : 1' /tmp/doctor-before.json && grep -q '\"healthy\" : true' /tmp/doctor-before.json"
status=$(doctor_run_bob doctor-bob-before "$A" 2)
# Problems come first: everything before the first ok line, then the summary.
{ sed '/^ok /,$d' /tmp/doctor-bob-before.out; tail -n 3 /tmp/doctor-bob-before.out; } | sed 's/^/   | /'
check "doctor as uid 1001 exits 0 too (nothing known to fail)" [ "$status" = 0 ]
check "doctor as uid 1001: PAT unknown, the debugfs list needs root" doctor_says /tmp/doctor-bob-before.out unknown platform.pat platform ""
check "doctor as uid 1001 names what it could not run" sh -c \
    "grep -q '^Not run without root:.* platform.pat.* holders.iomem@$A/2' /tmp/doctor-bob-before.out"

# --- 7 -------------------------------------------------------------------------------
step "7. A VFIO user maps BAR2 of A through the device fd: vfio-pci claims the BAR"
# /proc/iomem names vfio-pci's claim "vfio-pci" on 6.x and "vfio" on 7.x
# (kernel-facts.md 3b).
claimant="vfio-pci"
case $(uname -r) in [7-9].*) claimant=vfio ;; esac
mkfifo /tmp/vfio.hold
vfio-user "$A" 2 </tmp/vfio.hold >/tmp/vfio.log 2>&1 &
vfio=$!
exec 7>/tmp/vfio.hold
check "the VFIO user mapped BAR2 through VFIO" wait_for contains /tmp/vfio.log "mapped BAR 2"
sed 's/^/   | /' /tmp/vfio.log
say "the claim revoked uid 1000's sysfs mapping of BAR2 in the kernel; wcbrokerd must notice and say so"
check "the claim ended uid 1000's lease: the client received Revoked" wait_for contains /tmp/alice-wc.log '"event" : "revoked"'
sed 's/^/   | /' /tmp/alice-wc.log | tail -1
check "the reason names the claimant ($claimant)" contains /tmp/alice-wc.log "was claimed by $claimant"
wait $alice_wc
check "that client exited with status 1 (revoked)" [ $? = 1 ]
say "kernel: /proc/iomem under BAR2:"
grep -A1 "$(printf '%x' $((a_bar2)))-" /proc/iomem | sed 's/^/   | /'
check "/proc/iomem shows $claimant holding BAR2" sh -c "grep -A1 '$(printf '%x' $((a_bar2)))-' /proc/iomem | grep -q ' : $claimant\$'"
check "wcbrokerctl show-device reports BAR2 claimed" sh -c "wcbrokerctl show-device '$A' | grep -q 'BAR 2: .*CLAIMED by $claimant\$'"
if alice wcbrokerctl acquire --access wc "$A" 2 0x1000 0x1000 2>/tmp/claimed.err; then
    fail "a new write-combining lease is refused while the BAR is claimed"
else
    pass "a new write-combining lease is refused while the BAR is claimed"
fi
sed 's/^/   | /' /tmp/claimed.err
check "the refusal says why (Busy: claimed by $claimant)" sh -c "grep -q 'claimed by $claimant (' /tmp/claimed.err && grep -q 'Device or resource busy' /tmp/claimed.err"
status=$(doctor_run doctor-vfio "$A" 2)
sed 's/^/   | /' /tmp/doctor-vfio.out | head -16
check "doctor exits 1 while a VFIO user holds BAR2" [ "$status" = 1 ]
check "doctor: BAR2 held by $claimant (fail)" doctor_says /tmp/doctor-vfio.out fail holders.iomem "$A BAR 2" "held by $claimant"
check "doctor: the VFIO user is named by pid and comm" sh -c \
    "grep -q 'pid $vfio (vfio-user.*) has /dev/vfio/[0-9]* open' /tmp/doctor-vfio.out"
check "doctor: the problems come first" sh -c "head -n1 /tmp/doctor-vfio.out | grep -q '^fail '"
check "doctor --json: not healthy" grep -q '"healthy" : false' /tmp/doctor-vfio.json
status=$(doctor_run_bob doctor-bob-vfio "$A" 2)
check "doctor as uid 1001 cannot see root's VFIO fds: unknown, needs root" sh -c \
    "grep -q '^Not run without root:.* holders.vfio@$A/2' /tmp/doctor-bob-vfio.out"
exec 7>&-
wait $vfio
check "the VFIO user closed the device" contains /tmp/vfio.log closed
# The same pattern from the same offset: the host's check of the backing
# file stays true.
$ALICE wcbrokerctl acquire --json --access wc --write-pattern "WCBROKER-E2E-" --hold "$A" 2 0x1000 0x1000 \
    >/tmp/alice-wc.log 2>&1 &
alice_wc=$!
check "after the VFIO fd closed, write-combining leases work again" wait_for contains /tmp/alice-wc.log '"event" : "wrote"'
sed 's/^/   | /' /tmp/alice-wc.log
status=$(doctor_run doctor-after "$A" 2)
check "doctor after the VFIO user closed the device: exit 0, BAR2 free again" sh -c \
    "[ $status = 0 ] && grep -q '^ok  *$A BAR 2  *holders.iomem  *no driver holds' /tmp/doctor-after.out"

# --- 7b ------------------------------------------------------------------------------
step "7b. A VFIO user opens device A and uses only BAR0 while uid 1000 holds BAR2 write-combining"
# 6.x claims a BAR at its first use: BAR2 stays free and the lease lives.
# 7.x claims every BAR when the device is opened: the lease dies with it.
mkfifo /tmp/vfio0.hold
vfio-user "$A" 0 </tmp/vfio0.hold >/tmp/vfio0.log 2>&1 &
vfio0=$!
exec 8>/tmp/vfio0.hold
check "the VFIO user opened the device and used BAR0 only" wait_for contains /tmp/vfio0.log "mapped BAR 0"
sed 's/^/   | /' /tmp/vfio0.log
doctor_run doctor-open "$A" 2 >/dev/null
check "doctor: the VFIO user that opened the device is named (warn)" sh -c \
    "grep -q '^warn  *$A BAR 2  *holders.vfio  *a VFIO user has the device' /tmp/doctor-open.out && grep -q 'pid $vfio0 (vfio-user' /tmp/doctor-open.out"
say "kernel: /proc/iomem under BAR2: $(grep -A1 "$(printf '%x' $((a_bar2)))-" /proc/iomem | tail -n +2 | tr -s ' ')"
if [ "$claimant" = vfio ]; then
    check "7.x: opening the device claimed BAR2 too (/proc/iomem: vfio)" sh -c \
        "grep -A1 '$(printf '%x' $((a_bar2)))-' /proc/iomem | grep -q ' : vfio\$'"
    check "7.x: the live WC lease of BAR2 was revoked, naming vfio" wait_for contains /tmp/alice-wc.log "was claimed by vfio"
    wait $alice_wc
    check "7.x: a new WC lease of BAR2 is refused while the device is open" sh -c \
        "! setids 1000 1000,2000 -- wcbrokerctl acquire --access wc '$A' 2 0x1000 0x1000 2>/tmp/b0.err && grep -q 'claimed by vfio (' /tmp/b0.err"
else
    sleep 2
    check "6.x: BAR2 is not claimed (the VFIO user never touched it)" sh -c \
        "! grep -A1 '$(printf '%x' $((a_bar2)))-' /proc/iomem | grep -q vfio"
    check "6.x: the live WC lease of BAR2 survives" sh -c "! grep -q '\"event\" : \"revoked\"' /tmp/alice-wc.log"
    check "6.x: a new WC lease of BAR2 is granted meanwhile" alice wcbrokerctl acquire --access wc "$A" 2 0x2000 0x1000
fi
exec 8>&-
wait $vfio0
check "the BAR0 VFIO user closed the device" contains /tmp/vfio0.log closed
if [ "$claimant" = vfio ]; then
    $ALICE wcbrokerctl acquire --json --access wc --write-pattern "WCBROKER-E2E-" --hold "$A" 2 0x1000 0x1000 \
        >/tmp/alice-wc.log 2>&1 &
    alice_wc=$!
    check "7.x: after the VFIO user closed the device, write-combining leases work again" \
        wait_for contains /tmp/alice-wc.log '"event" : "wrote"'
fi

# --- 8 -------------------------------------------------------------------------------
step "8. Unbinding device A revokes the lease; the client receives Revoked"
echo "$A" >/sys/bus/pci/drivers/vfio-pci/unbind
check "the holding client received Revoked" wait_for contains /tmp/alice-wc.log '"event" : "revoked"'
sed 's/^/   | /' /tmp/alice-wc.log | tail -2
check "the reason is the unbind" contains /tmp/alice-wc.log "device unbound from vfio-pci"
wait $alice_wc
check "the client exited with status 1 (revoked)" [ $? = 1 ]
check "the monitor saw the lease end and the removal (Revoked is the owner's alone)" sh -c "grep -q lease-ended /tmp/monitor.log && grep -q device-removed /tmp/monitor.log"
check "device A is no longer served" not_served "$A"
bind_vfio "$A"
check "rebound, device A is served again" wait_for served "$A"

# --- 9 -------------------------------------------------------------------------------
step "9. A broken policy on reload is refused with file:line:col; the old policy keeps serving"
cp /etc/wcbroker/policy.toml /tmp/policy.good
printf 'version = 1\n[[rule]]\nname = "oops"\ndevices = ["ivshmem"]\nbar = 9\nranges = "all"\naccess = "wc"\nusers = [1000]\n' \
    >/etc/wcbroker/policy.toml
say "asked: wcbrokerctl reload, with this policy.toml:"
sed 's/^/   | /' /etc/wcbroker/policy.toml
if wcbrokerctl reload 2>/tmp/reload.err; then
    fail "the broken policy is refused"
else
    pass "the broken policy is refused"
fi
sed 's/^/   | /' /tmp/reload.err
check "the errors name file, line and column" grep -q '/etc/wcbroker/policy.toml:5:7: error: rule\[oops\].bar' /tmp/reload.err
check "the old policy keeps serving: uid 1000 is still allowed" \
    sh -c "setids 1000 1000,2000 -- wcbrokerctl explain --access wc '$A' 2 0x1000 0x1000 | grep -q 'Decision:  ALLOW'"
cp /tmp/policy.good /etc/wcbroker/policy.toml
check "the good policy reloads" wcbrokerctl reload

# --- 10 ------------------------------------------------------------------------------
step "10. A client is killed; its leases disappear"
$ALICE wcbrokerctl acquire --access wc --hold "$A" 2 0x1000 0x1000 >/tmp/victim.log 2>&1 &
victim=$!
check "the client holds a lease" wait_for contains /tmp/victim.log Holding
wcbrokerctl list-leases | sed 's/^/   | /'
kill -KILL $victim
wait $victim 2>/dev/null
check "its lease is gone from ListLeases" wait_for sh -c "wcbrokerctl list-leases | grep -q 'No leases'"
check "the audit log says its owner disconnected" contains "$LOG" "kind=lease-owner-gone"

# --- end -----------------------------------------------------------------------------
step "wcbrokerd stops cleanly"
kill $monitor 2>/dev/null
kill -TERM $daemon
wait $daemon
check "wcbrokerd exited with status 0 on SIGTERM" [ $? = 0 ]
echo
echo "== wcbrokerd's log and audit records (last 12 lines):"
tail -12 "$LOG" | sed 's/^/   | /'
[ $failures = 0 ]
