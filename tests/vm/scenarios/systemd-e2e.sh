#!/bin/sh
# wcbroker installed as a distribution would install it, on a real kernel with
# systemd as PID 1 (issue #6): the tree "meson install" produced (unit, udev
# rules, bus policy, activation file, journal catalog, binaries), nothing
# started by hand. Run by wcvm-scenario.service as root (run-e2e.sh --systemd).
#
#   1. the unit is installed and nothing runs it at boot (no device is bound);
#   2. the first bus call starts it through D-Bus activation, and its sandbox
#      is the one the unit describes;
#   3. full auto-provisioning: with the rules "wcbrokerctl autobind-rules"
#      writes, a hotplugged device is bound to vfio-pci by udev, the bind
#      starts wcbrokerd through SYSTEMD_WANTS, and it serves the device;
#   4. an unprivileged client gets a verified write-combining lease through
#      the sandbox (sysfs, debugfs and /proc/iomem as the unit allows them);
#   5. the audit record is in the journal with its fields and catalog text;
#   6. "systemctl reload" refuses a broken policy, keeping the old one, and
#      applies a good one;
#   7. the watchdog is fed, the runtime directory survives a stop, and the
#      daemon stops cleanly;
#   8. killed with SIGKILL while a client holds a lease, it is restarted by
#      systemd and takes the lease over with the fd from the fd store;
#   9. (WCVM_WCALIAS=1) "modprobe wcalias" restarts the running daemon
#      through the udev rules, leases are then served through the module,
#      and a client's alias keeps working across a SIGKILL and restart (the
#      module's control fd is in the fd store too) until root releases it.
# shellcheck disable=SC2317  # helpers are called through check and wait_until
set -u
# shellcheck source-path=SCRIPTDIR source=../guest/checks.sh
. /usr/libexec/wcbroker-vm/checks.sh
property() { systemctl show -p "$1" --value wcbrokerd.service; }
generation() { busctl get-property org.wcbroker.Broker1 /org/wcbroker/Broker1 org.wcbroker.Broker1 PolicyGeneration | cut -d' ' -f2; }
ALICE="setids 1000 1000,2000 --"
BOB="setids 1001 1001 --"

A=${WCVM_DEV_A:-}
POLICY=/etc/wcbroker/policy.toml
GRANTED=b51d96779ec14df39e71328eb1fe6258

if [ -z "$A" ]; then
    fail "device A (ivshmem) is in the guest"
    exit 1
fi

# --- 1. installed, not running -----------------------------------------------------------
check "PID 1 is systemd" [ "$(cat /proc/1/comm)" = systemd ]
check "wcbrokerd.service is installed where systemd reads packaged units ($(property FragmentPath))" \
    [ "$(property LoadState)" = loaded ]
check "the journal catalog is installed" [ -f /usr/lib/systemd/catalog/wcbroker.catalog ]
check "nothing started wcbrokerd at boot: no device is on vfio-pci" inactive wcbrokerd.service
udevadm test --action=add "$SYS/$A" >/tmp/udevadm-test.out 2>&1
if grep -q '70-wcbroker.rules' /tmp/udevadm-test.out && ! grep -i 'wcbroker.rules.*\(invalid\|error\|unknown\|fail\)' /tmp/udevadm-test.out; then
    pass "udevadm test reads 70-wcbroker.rules without complaint"
else
    fail "udevadm test reads 70-wcbroker.rules without complaint"
    grep -i 'wcbroker\|rules' /tmp/udevadm-test.out | head -20
fi

# --- 2. D-Bus activation, and the sandbox --------------------------------------------------
if $BOB wcbrokerctl list-devices >/tmp/list.out 2>&1; then
    pass "an unprivileged bus call succeeds while the daemon is not running ($(head -n1 /tmp/list.out))"
else
    fail "an unprivileged bus call succeeds while the daemon is not running"
    cat /tmp/list.out
fi
check "the call started wcbrokerd.service" active wcbrokerd.service
check "dbus-daemon asked systemd to start it (SystemdService=)" \
    sh -c "journalctl -b -o cat -u dbus.service | grep -q \"Activating via systemd: service name='org.wcbroker.Broker1' unit='wcbrokerd.service'\""
pid=$(property MainPID)
field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }
grep -E '^(Uid|CapBnd|CapEff|NoNewPrivs|Seccomp):' "/proc/$pid/status" | sed 's/^/wcbrokerd status: /'
check "it keeps two capabilities, CAP_SYS_ADMIN and CAP_SYS_RAWIO (CapBnd 0000000000220000)" [ "$(field CapBnd)" = 0000000000220000 ]
check "no new privileges, system call filter on" [ "$(field NoNewPrivs)/$(field Seccomp)" = 1/2 ]
check "its own mount namespace" [ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/1/ns/mnt)" ]
check "its status line comes from sd_notify ($(property StatusText))" \
    sh -c "systemctl show -p StatusText --value wcbrokerd.service | grep -q '^Serving 0 device(s)'"
systemctl stop wcbrokerd.service
check "systemctl stop: stopped cleanly (Result=$(property Result), status $(property ExecMainStatus))" \
    [ "$(property Result)/$(property ExecMainStatus)" = success/0 ]
check "the runtime directory /run/wcbroker survives the stop (RuntimeDirectoryPreserve=yes)" [ -d /run/wcbroker ]

# --- 3. hotplug, autobind, SYSTEMD_WANTS ------------------------------------------------------
if wcbrokerctl autobind-rules --output /etc/udev/rules.d/60-wcbroker-autobind.rules 2>/tmp/autobind.err; then
    pass "wcbrokerctl autobind-rules wrote /etc/udev/rules.d/60-wcbroker-autobind.rules"
else
    fail "wcbrokerctl autobind-rules wrote the rules"
    cat /tmp/autobind.err
fi
grep 'GOTO="wcbroker_autobind"$' /etc/udev/rules.d/60-wcbroker-autobind.rules | sed 's/^/autobind: /'
udevadm control --reload
check "device A starts unbound" [ -z "$(driver_of "$A")" ]
echo 1 >"$SYS/$A/remove"
wait_until 50 sh -c "[ ! -e $SYS/$A ]"
echo 1 >/sys/bus/pci/rescan
if wait_until 200 sh -c "[ \"\$(basename \"\$(readlink $SYS/$A/driver)\")\" = vfio-pci ]"; then
    pass "after remove and rescan, udev bound the reappeared device A to vfio-pci (driver_override: $(cat "$SYS/$A/driver_override"))"
else
    fail "after remove and rescan, udev bound the reappeared device A to vfio-pci (driver: $(driver_of "$A"))"
    udevadm info -p "$SYS/$A" | sed 's/^/udev db: /'
fi
if wait_until 200 active wcbrokerd.service; then
    pass "the vfio-pci bind started wcbrokerd.service through the udev rules"
else
    fail "the vfio-pci bind started wcbrokerd.service through the udev rules"
    show wcbrokerd.service
fi
udevadm info -q property -p "$SYS/$A" | grep -E '^(SYSTEMD_WANTS|TAGS|CURRENT_TAGS|DRIVER)=' | sed 's/^/udev db: /'
check "udev's record of A has SYSTEMD_WANTS=wcbrokerd.service" \
    sh -c "udevadm info -q property -p $SYS/$A | grep -qx SYSTEMD_WANTS=wcbrokerd.service"
check "wcbrokerd serves device A" wait_until 100 served "$A"

# --- 4. a lease through the sandbox -----------------------------------------------------------
if $ALICE wcbrokerctl acquire --access wc --require-verified-wc "$A" 2 4096 65536 >/tmp/acquire.out 2>&1; then
    sed 's/^/alice: /' /tmp/acquire.out
    check "uid 1000 gets a write-combining lease the daemon verified in the PAT list" \
        grep -q '^Memtype:    write-combining' /tmp/acquire.out
else
    fail "uid 1000 gets a write-combining lease through the sandboxed daemon"
    cat /tmp/acquire.out
    show wcbrokerd.service
fi
$BOB wcbrokerctl acquire --access wc "$A" 2 4096 4096 >/tmp/bob.out 2>&1
check "uid 1001 is refused (exit status $?)" grep -q 'AccessDenied\|Permission denied' /tmp/bob.out

# --- 5. the audit trail -----------------------------------------------------------------------
journalctl --sync
journalctl -b -o export -u wcbrokerd.service "MESSAGE_ID=$GRANTED" >/tmp/granted.export
grep -E '^WCBROKER_(KIND|UID|DEVICE|BAR|OFFSET|LENGTH|ACCESS|RULE|MEMTYPE|MECHANISM)=' /tmp/granted.export | sed 's/^/journal: /'
check "the grant is a journal entry with MESSAGE_ID, WCBROKER_UID=1000 and WCBROKER_MEMTYPE=write-combining" \
    sh -c "grep -qx WCBROKER_UID=1000 /tmp/granted.export && grep -qx WCBROKER_MEMTYPE=write-combining /tmp/granted.export"
journalctl --update-catalog
check "journalctl -x explains it from the installed catalog" \
    sh -c "journalctl -b -x --no-pager -u wcbrokerd.service MESSAGE_ID=$GRANTED | grep -q 'Write-combining broker granted a lease on $A'"

# --- 6. systemctl reload ----------------------------------------------------------------------
before=$(generation)
cp "$POLICY" /tmp/policy.good
printf 'version = 1\n[[rule]]\nname = "broken"\nbar = 9\n' >"$POLICY"
if systemctl reload wcbrokerd.service 2>/tmp/reload.err; then
    fail "systemctl reload fails on a broken policy"
else
    pass "systemctl reload fails on a broken policy"
fi
check "the journal names the file, line and column" \
    sh -c "journalctl -b -o cat -u wcbrokerd.service | grep -q '$POLICY:4:7: error'"
check "the daemon is still running, with policy generation $before" sh -c "[ \"\$(systemctl is-active wcbrokerd)\" = active ] && [ \"$(generation)\" = \"$before\" ]"
check "the old policy still grants uid 1000" setids 1000 1000,2000 -- wcbrokerctl acquire --access wc "$A" 2 4096 4096
cp /tmp/policy.good "$POLICY"
check "systemctl reload applies a good policy" systemctl reload wcbrokerd.service
check "policy generation $before -> $(generation)" [ "$(generation)" -gt "$before" ]

# --- 7. watchdog, restart, stop ---------------------------------------------------------------
mkdir -p /run/systemd/system/wcbrokerd.service.d
printf '[Service]\nWatchdogSec=2s\n' >/run/systemd/system/wcbrokerd.service.d/watchdog.conf
systemctl daemon-reload
systemctl restart wcbrokerd.service
first=$(property WatchdogTimestampMonotonic)
sleep 3
second=$(property WatchdogTimestampMonotonic)
check "WATCHDOG=1 arrives (WatchdogSec=2s: last ping moved from $first to $second)" [ "$second" -gt "$first" ]
check "still running after the watchdog interval passed, not restarted (NRestarts=$(property NRestarts))" \
    sh -c "[ \"\$(systemctl is-active wcbrokerd)\" = active ] && [ \"\$(systemctl show -p NRestarts --value wcbrokerd)\" = 0 ]"
check "after a restart it serves device A again" wait_until 100 served "$A"

# --- 8. a crash: the lease survives --------------------------------------------------------------
$ALICE wcbrokerctl acquire --access wc --hold --label survivor "$A" 2 4096 4096 >/tmp/hold.out 2>&1 &
holder=$!
wait_until 100 grep -q '^Holding:' /tmp/hold.out
survivor() { wcbrokerctl list-leases --json | grep -q '"Label" : "survivor"'; }
check "uid 1000 holds a lease (labelled survivor)" survivor
before_pid=$(property MainPID)
systemctl kill -s SIGKILL wcbrokerd.service
wait_until 100 sh -c "[ \"\$(systemctl show -p MainPID --value wcbrokerd)\" != $before_pid ] && [ \"\$(systemctl is-active wcbrokerd)\" = active ]"
check "killed with SIGKILL, systemd restarted it (NRestarts=$(property NRestarts))" [ "$(property NRestarts)" -ge 1 ]
check "the restarted daemon lists the held lease again" wait_until 100 survivor
journalctl --sync
journalctl -b -o export -u wcbrokerd.service WCBROKER_KIND=lease-recovered >/tmp/recovered.export
grep -E '^WCBROKER_(LEASE|UID|FD_FROM_STORE)=' /tmp/recovered.export | sed 's/^/journal: /'
check "it took the lease over with the fd from systemd's fd store" grep -qx WCBROKER_FD_FROM_STORE=yes /tmp/recovered.export
kill -TERM "$holder"
wait "$holder"
check "the holder then releases it as usual" sh -c "grep -q '^Released:   yes' /tmp/hold.out && wcbrokerctl list-leases | grep -q 'No leases'"

# --- 9. the wcalias module --------------------------------------------------------------------
if [ "${WCVM_WCALIAS:-0}" = 1 ]; then
    before_pid=$(property MainPID)
    check "modprobe wcalias" modprobe wcalias
    if wait_until 100 sh -c "[ \"\$(systemctl show -p MainPID --value wcbrokerd)\" != $before_pid ] && [ \"\$(systemctl is-active wcbrokerd)\" = active ]"; then
        pass "/dev/wcalias appearing restarted the running wcbrokerd (udev rule, try-restart)"
    else
        fail "/dev/wcalias appearing restarted the running wcbrokerd (udev rule, try-restart)"
        show wcbrokerd.service
    fi
    check "wcbrokerd serves device A again" wait_until 100 served "$A"
    $ALICE lease-probe "$A" 2 4096 16384 >/tmp/probe.log 2>&1 &
    probe=$!
    wait_until 100 grep -q 'probe: holding\|probe: refused' /tmp/probe.log
    sed 's/^/probe: /' /tmp/probe.log
    check "uid 1000's lease is served by the module, range enforced by the kernel" \
        grep -q 'mechanism=wcalias enforcement=kernel memtype=write-combining' /tmp/probe.log
    before_pid=$(property MainPID)
    systemctl kill -s SIGKILL wcbrokerd.service
    wait_until 100 sh -c "[ \"\$(systemctl show -p MainPID --value wcbrokerd)\" != $before_pid ] && [ \"\$(systemctl is-active wcbrokerd)\" = active ]"
    check "killed with SIGKILL, systemd restarted it" [ "$(property MainPID)" != "$before_pid" ]
    check "the restarted daemon lists the alias's lease again" \
        wait_until 100 sh -c "wcbrokerctl list-leases --json | grep -q '\"Label\" : \"lease-probe\"'"
    sleep 1
    check "the client's alias kept working across the restart (no SIGBUS, no Revoked)" \
        sh -c "! grep -q 'probe: sigbus\|probe: revoked' /tmp/probe.log"
    lease=$(sed -n 's/.*lease=\/org\/wcbroker\/Broker1\/lease\/\([0-9]*\).*/\1/p' /tmp/probe.log)
    check "root releases lease $lease" wcbrokerctl release "$lease"
    check "the client's next access faulted and it received Revoked" wait_until 100 grep -q 'probe: done' /tmp/probe.log
    sed -n 's/^probe: \(sigbus\|revoked.*\|timeout.*\)/probe: \1/p' /tmp/probe.log
    wait "$probe"
fi
systemctl stop wcbrokerd.service
check "stopped cleanly (Result=$(property Result))" [ "$(property Result)" = success ]

[ "$failures" -eq 0 ] || show wcbrokerd.service
exit "$((failures > 0))"
