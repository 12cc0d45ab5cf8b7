#!/bin/sh
# wcbroker through the wcalias module on a real kernel (issue 13): the
# project's wcbrokerd and the module built for this kernel; unprivileged
# clients (lease-probe, libwcbroker) get dma-buf leases the kernel confines
# to their range and takes back on every kind of revocation. With
# WCVM_LOCKDOWN=1 (the kernel booted with lockdown=integrity) it checks
# instead that the module stays out and wcbrokerd says why.
#
# Checks are PASS:/FAIL: lines; "WCVM-E2E-PATTERN" lines are for the host
# check (e2e-host.sh), as in e2e.sh.
set -u
# shellcheck source-path=SCRIPTDIR source=../guest/checks.sh
. /usr/libexec/wcbroker-vm/checks.sh

A=${WCVM_DEV_A:-}
LOG=/tmp/wcbrokerd.log
ALICE="setids 1000 1000,2000 --"
# Every PAT memtype list line inside [START, START + LENGTH), as "START END TYPE".
pat_within() {
    start=$(($1)) end=$(($1 + $2))
    sed -n 's/^PAT: \[mem 0x\([0-9a-f]*\)-0x\([0-9a-f]*\)\] \(.*\)$/\1 \2 \3/p' /sys/kernel/debug/x86/pat_memtype_list |
        while read -r s e type; do
            if [ $((0x$s)) -ge $start ] && [ $((0x$e)) -le $end ]; then
                printf '%#x %#x %s\n' $((0x$s)) $((0x$e)) "$type"
            fi
        done
}
# The /proc/iomem line right under BAR2 of A: its claimant.
bar2_holder() { grep -A1 "^ *$(printf '%x' $((a_bar2)))-" /proc/iomem | sed -n '2s/.* : //p'; }
# probe NAME ARGS...: starts lease-probe as uid 1000 in the background, output in /tmp/NAME.log.
probe() {
    name=$1
    shift
    $ALICE lease-probe --bar-size 0x100000 "$@" >"/tmp/$name.log" 2>&1 &
    eval "${name}_pid=\$!"
    wait_for contains "/tmp/$name.log" "probe: holding\|probe: refused"
}
# revoked_both NAME WHY: the probe saw SIGBUS and the Revoked signal, and exited 0.
revoked_both() {
    name=$1
    if wait_for contains "/tmp/$name.log" "probe: done"; then
        pass "$2: the client's next access faulted (SIGBUS) and it received Revoked"
    else
        fail "$2: the client's next access faulted (SIGBUS) and it received Revoked"
    fi
    sed -n 's/^probe: \(sigbus\|revoked.*\|timeout.*\)/   | \1/p' "/tmp/$name.log"
}

# doctor_says FILE VERDICT ID WHERE TEXT: FILE (wcbrokerctl doctor's text) has the line
# "VERDICT  WHERE  ID  ...TEXT..." (columns are padded with spaces).
doctor_says() {
    grep -q "^$2  *$4  *$3  .*$5" "$1"
}

if [ -z "$A" ]; then
    fail "the guest has device A (ivshmem)"
    exit 1
fi

# --- lockdown ------------------------------------------------------------------------
if [ "${WCVM_LOCKDOWN:-0}" = 1 ]; then
    step "Kernel lockdown (lockdown=integrity): the module stays out, wcbrokerd falls back and says so"
    # Where the lockdown mode is read (systemd mounts it on a real host).
    mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security
    say "kernel: $(cat /sys/kernel/security/lockdown 2>/dev/null)"
    check "the kernel is locked down (integrity)" grep -q '\[integrity\]' /sys/kernel/security/lockdown
    if modprobe wcalias 2>/tmp/modprobe.err; then
        fail "loading the unsigned module is refused under lockdown"
    else
        pass "loading the unsigned module is refused under lockdown ($(tr -d '\n' </tmp/modprobe.err))"
    fi
    check "no /dev/wcalias" [ ! -e /dev/wcalias ]
    bind_vfio "$A"
    wcbrokerd --log-level info 2>"$LOG" &
    daemon=$!
    check "wcbrokerd starts and serves device A" wait_for served "$A"
    wcbrokerctl status >/tmp/status.out 2>&1
    sed 's/^/   | /' /tmp/status.out
    check "wcbrokerctl status says the module is not loaded, and that lockdown would refuse it" \
        grep -qi 'wcalias .*not loaded.*lockdown (integrity)' /tmp/status.out
    if $ALICE wcbrokerctl acquire --access wc "$A" 2 0x1000 0x1000 >/tmp/acquire.out 2>/tmp/acquire.err; then
        fail "a lease is refused under lockdown"
    else
        pass "a lease is refused under lockdown"
    fi
    sed 's/^/   | /' /tmp/acquire.err
    check "the refusal names lockdown" grep -qi 'locked down\|lockdown' /tmp/acquire.err
    kill -TERM $daemon
    wait $daemon
    exit $((failures > 0))
fi

# --- 1 -------------------------------------------------------------------------------
step "1. The wcalias module is loaded; wcbrokerd claims BAR2 of A when A is bound to vfio-pci"
mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security
wcbrokerctl doctor >/tmp/doctor-nomod.out 2>&1
say "wcbrokerctl doctor before modprobe (not ok lines):"
grep -v '^ok \|^  ' /tmp/doctor-nomod.out | sed 's/^/   | /'
check "doctor without the module loaded: a warning, and the file built for this kernel is found" sh -c \
    "grep -q '^warn  *platform  *mechanism.wcalias  *not loaded' /tmp/doctor-nomod.out &&
     grep -q '^ok  *platform  *mechanism.wcalias-build  *built for the running kernel $(uname -r)' /tmp/doctor-nomod.out &&
     grep -q 'do:   modprobe wcalias' /tmp/doctor-nomod.out"
check "modprobe wcalias" modprobe wcalias
check "/dev/wcalias is root's alone (0600)" [ "$(stat -c '%a %U' /dev/wcalias)" = "600 root" ]
if $ALICE sh -c 'exec 3<>/dev/wcalias' 2>/dev/null; then
    fail "an unprivileged open of /dev/wcalias fails"
else
    pass "an unprivileged open of /dev/wcalias fails"
fi
wcbrokerd --log-level info 2>"$LOG" &
daemon=$!
check "wcbrokerd owns its bus name" wait_for wcbrokerctl list-devices
bind_vfio "$A"
check "wcbrokerd serves device A" wait_for served "$A"
a_bar2=$(bar_start "$A" 2)
check "wcbrokerd claimed BAR2 through the module at the bind (/proc/iomem: wcalias)" \
    wait_for sh -c "[ \"\$(grep -A1 '^ *$(printf '%x' $((a_bar2)))-' /proc/iomem | sed -n '2s/.* : //p')\" = wcalias ]"
wcbrokerctl status >/tmp/status.out 2>&1
sed 's/^/   | /' /tmp/status.out
check "wcbrokerctl status reports the module and its version" grep -qi "wcalias.*$(cat /sys/module/wcalias/version)" /tmp/status.out
wcbrokerctl doctor "$A" 2 >/tmp/doctor-mod.out 2>&1
status=$?
sed 's/^/   | /' /tmp/doctor-mod.out | head -12
check "doctor with the module: exit 0" [ $status = 0 ]
check "doctor: wcalias loaded and usable, its version and taint read" sh -c \
    "grep -q '^ok  *platform  *mechanism.wcalias  *loaded and usable' /tmp/doctor-mod.out &&
     grep -q 'version $(cat /sys/module/wcalias/version), taint' /tmp/doctor-mod.out"
check "doctor: BAR2 held by wcalias, wcbrokerd's own claim" doctor_says /tmp/doctor-mod.out ok holders.iomem "$A BAR 2" "held by wcalias"
check "doctor: the module's debugfs state shows the claim" doctor_says /tmp/doctor-mod.out ok holders.wcbroker "$A BAR 2" "claimed through wcalias"
setids 1001 1001 -- wcbrokerctl doctor "$A" 2 >/tmp/doctor-mod-bob.out 2>&1
check "doctor as uid 1001: wcalias usability needs root, and says so" sh -c \
    "grep -q '^unknown  *platform  *mechanism.wcalias  *loaded; whether wcbrokerd can use it' /tmp/doctor-mod-bob.out &&
     grep -q '^Not run without root:.* mechanism.wcalias' /tmp/doctor-mod-bob.out"

# --- 2 -------------------------------------------------------------------------------
step "2. uid 1000 gets BAR2 [0x1000, +16 KiB) write-combining: the kernel confines it to that range"
probe wc1 "$A" 2 0x1000 0x4000
sed 's/^/   | /' /tmp/wc1.log
check "served by the module, range enforced by the kernel" contains /tmp/wc1.log "mechanism=wcalias enforcement=kernel memtype=write-combining"
check "mmap of the lease's fd longer than the lease fails (EINVAL)" contains /tmp/wc1.log "mmap-beyond-length result=EINVAL"
check "mmap of the lease's fd past its end fails (EINVAL)" contains /tmp/wc1.log "mmap-past-end result=EINVAL"
check "mmap of the whole BAR through the lease's fd fails (EINVAL)" contains /tmp/wc1.log "mmap-whole-bar result=EINVAL"
pat_within "$a_bar2" 0x100000 >/tmp/pat.txt
sed 's/^/   | PAT: /' /tmp/pat.txt
check "the PAT list has exactly the range, write-combining" \
    grep -qx "$(printf '%#x %#x' $((a_bar2 + 0x1000)) $((a_bar2 + 0x5000))) write-combining" /tmp/pat.txt
echo "WCVM-E2E-PATTERN offset=4096 length=16384 pattern=WCALIAS-PROBE-"

# --- 3 -------------------------------------------------------------------------------
step "3. Group 2000 gets BAR2's first page uncached: WC and UC- side by side in one BAR"
probe uc1 --uc "$A" 2 0 0x1000
sed 's/^/   | /' /tmp/uc1.log
check "the uncached lease is served by the module as uncached-minus" contains /tmp/uc1.log "mechanism=wcalias enforcement=kernel memtype=uncached-minus"
pat_within "$a_bar2" 0x100000 >/tmp/pat.txt
sed 's/^/   | PAT: /' /tmp/pat.txt
check "the PAT list shows both: [0, 4K) uncached-minus and [4K, 20K) write-combining" sh -c \
    "grep -qx '$(printf '%#x %#x' $((a_bar2)) $((a_bar2 + 0x1000))) uncached-minus' /tmp/pat.txt &&
     grep -qx '$(printf '%#x %#x' $((a_bar2 + 0x1000)) $((a_bar2 + 0x5000))) write-combining' /tmp/pat.txt"
check "the write-combining client still maps and writes (no SIGBUS)" sh -c "! grep -q 'probe: sigbus' /tmp/wc1.log"

# --- 4 -------------------------------------------------------------------------------
step "4. Release by root revokes the mapping itself"
lease=$(sed -n 's/.*lease=\/org\/wcbroker\/Broker1\/lease\/\([0-9]*\).*/\1/p' /tmp/wc1.log)
check "root releases lease $lease" wcbrokerctl release "$lease"
revoked_both wc1 "release by root"
pat_within "$a_bar2" 0x100000 >/tmp/pat.txt
check "its PAT entry is gone; the uncached one stays" sh -c "! grep -q write-combining /tmp/pat.txt && grep -q uncached-minus /tmp/pat.txt"

# --- 5 -------------------------------------------------------------------------------
step "5. A policy reload that drops the uncached grant revokes the uncached mapping"
cp /etc/wcbroker/policy.toml /tmp/policy.good
cat >/etc/wcbroker/policy.toml <<'POLICY'
version = 1

[selector.ivshmem]
vendor = 0x1af4
device = 0x1110

[[rule]]
name = "alice-wc"
devices = ["ivshmem"]
bar = 2
ranges = [ { offset = "4KiB", length = "1020KiB" } ]
access = "write-combine"
users = [1000]
require_verified_wc = true
POLICY
check "the policy without rule wcuc-uc reloads" wcbrokerctl reload
revoked_both uc1 "policy reload"
cp /tmp/policy.good /etc/wcbroker/policy.toml
wcbrokerctl reload

# --- 6 -------------------------------------------------------------------------------
step "6. A VFIO user runs on BAR0 while a write-combining alias of BAR2 lives; BAR2 stays the module's"
probe wc2 "$A" 2 0x1000 0x4000
check "a new write-combining lease" contains /tmp/wc2.log "memtype=write-combining"
mkfifo /tmp/vfio0.hold
vfio-user "$A" 0 </tmp/vfio0.hold >/tmp/vfio0.log 2>&1 &
vfio0=$!
exec 8>/tmp/vfio0.hold
check "the VFIO user opened A and mapped BAR0" wait_for contains /tmp/vfio0.log "mapped BAR 0"
sleep 1
check "the alias survives: no SIGBUS, no Revoked" sh -c "! grep -q 'probe: sigbus\|probe: revoked' /tmp/wc2.log"
say "kernel: /proc/iomem under BAR2: $(bar2_holder)"
check "BAR2 is still held by wcalias, not vfio" [ "$(bar2_holder)" = wcalias ]
wcbrokerctl doctor "$A" 2 >/tmp/doctor-vfio0.out 2>&1
say "wcbrokerctl doctor $A 2 with the VFIO user on BAR0: exit $?"
grep -v '^ok \|^  ' /tmp/doctor-vfio0.out | sed 's/^/   | /'
check "doctor names the VFIO user and still sees BAR2 held by wcalias" sh -c \
    "grep -q 'pid $vfio0 (vfio-user' /tmp/doctor-vfio0.out &&
     grep -q '^ok  *$A BAR 2  *holders.iomem  *held by wcalias' /tmp/doctor-vfio0.out"
vfio-user "$A" 2 </dev/null >/tmp/vfio2.log 2>&1
sed 's/^/   | /' /tmp/vfio2.log
check "the VFIO user's own mapping of BAR2 is refused (EBUSY)" grep -q "Device or resource busy" /tmp/vfio2.log
check "and the alias still works" sh -c "! grep -q 'probe: sigbus\|probe: revoked' /tmp/wc2.log"
exec 8>&-
wait $vfio0

# --- 7 -------------------------------------------------------------------------------
step "7. Unbinding A revokes the alias and drops the claim"
echo "$A" >/sys/bus/pci/drivers/vfio-pci/unbind
revoked_both wc2 "unbind"
check "no wcalias claim is left in /proc/iomem" sh -c "! grep -q wcalias /proc/iomem"
bind_vfio "$A"
check "rebound, A is served again and BAR2 claimed again" wait_for sh -c "grep -q ' : wcalias' /proc/iomem"

# --- 8 -------------------------------------------------------------------------------
step "8. Removing A revokes the alias"
probe wc3 "$A" 2 0x1000 0x4000
check "a new write-combining lease" contains /tmp/wc3.log "memtype=write-combining"
echo 1 >"$SYS/$A/remove"
revoked_both wc3 "removal"
echo 1 >/sys/bus/pci/rescan
wait_until 100 sh -c "[ -e $SYS/$A ]"
bind_vfio "$A"
check "after rescan, A is served again" wait_for served "$A"

# --- 9 -------------------------------------------------------------------------------
step "9. wcbrokerd killed without systemd's fd store: the kernel revokes its aliases"
probe wc4 "$A" 2 0x1000 0x4000
check "a new write-combining lease" contains /tmp/wc4.log "memtype=write-combining"
kill -KILL $daemon
wait $daemon 2>/dev/null
check "the alias died with the daemon's control fd (SIGBUS)" wait_for contains /tmp/wc4.log "probe: sigbus"
wcbrokerd --log-level info 2>>"$LOG" &
daemon=$!
check "restarted, wcbrokerd serves A again" wait_for served "$A"
# shellcheck disable=SC2154 # set by probe(), through eval
kill "$wc4_pid" 2>/dev/null

# --- leaks -----------------------------------------------------------------------------
step "Nothing is left behind"
kill -TERM $daemon
wait $daemon
check "wcbrokerd exited with status 0 on SIGTERM" [ $? = 0 ]
check "no wcalias claim in /proc/iomem" sh -c "! grep -q wcalias /proc/iomem"
check "no PAT entry inside BAR2" [ -z "$(pat_within "$a_bar2" 0x100000)" ]
check "the module can be unloaded (no fd holds it)" rmmod wcalias
echo
echo "== wcbrokerd's log (last 15 lines):"
tail -15 "$LOG" | sed 's/^/   | /'
[ $failures = 0 ]
