#!/bin/sh
# Guest side of the systemd-mode self-test (run-smoke.sh --systemd): proves, with fixtures
# only (systemd-smoke-tree/, sd-fixture.c), what wcbroker's unit, D-Bus activation file and
# udev rules rely on when systemd is PID 1.  Run by wcvm-scenario.service as root.
#   1. PID 1 is systemd, the boot reached "running", journald, udevd and the bus run from
#      their units, and dbus-daemon has systemd activation with PID 1 on the bus;
#   2. journald: an sd_journal_sendv() record with custom fields, a systemd-cat line and a
#      service's stdout show up in journalctl with their fields;
#   3. coldplug (systemd-udev-trigger.service) put every PCI device in the udev database;
#   4. binding device A to vfio-pci makes a udev SYSTEMD_WANTS start wcvm-udev-fixture.service;
#   5. a call to org.wcvm.Fixture1 makes dbus-daemon ask systemd to start
#      wcvm-bus-fixture.service (SystemdService=), then it answers root and uid 1000;
#   6. wcvm-hardened.service really runs sandboxed: CapBnd, Seccomp, NoNewPrivs, own mount
#      namespace, /usr, /etc and /proc/sys read-only, no /dev/mem, private /tmp, and mount(2)
#      killed by the system call filter.
set -u
# shellcheck source-path=SCRIPTDIR source=../guest/checks.sh
. /usr/libexec/wcbroker-vm/checks.sh
main_pid() { systemctl show -p MainPID --value "$1"; }

A=${WCVM_DEV_A:-}

missing=""
for t in systemctl journalctl busctl systemd-cat udevadm sd-fixture setids; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ]; then
    # The image is built for this scenario (run-smoke.sh --systemd): a gap is a harness bug.
    fail "tools missing in the guest:$missing"
    exit 1
fi

# --- 1. systemd is PID 1, the boot is over ----------------------------------------------------

pid1=$(readlink /proc/1/exe)
check "PID 1 is systemd ($pid1, $(systemctl --version | head -n1))" [ "$(cat /proc/1/comm)" = systemd ]
state=$(systemctl is-system-running)
if [ "$state" = running ]; then
    pass "systemctl is-system-running: running"
else
    fail "systemctl is-system-running: $state"
    for u in $(systemctl list-units --failed --plain --no-legend | awk '{print $1}'); do
        fail "failed unit: $u"
        show "$u"
    done
fi
for u in systemd-journald.service systemd-udevd.service dbus.socket dbus.service; do
    check "$u is active" active "$u"
done
trigger="$(systemctl show -p ActiveState --value systemd-udev-trigger.service)/$(systemctl show -p Result --value systemd-udev-trigger.service)"
check "systemd-udev-trigger.service (coldplug) ran and succeeded ($trigger)" [ "$trigger" = active/success ]
dbus_cmd=$(tr '\0' ' ' <"/proc/$(main_pid dbus.service)/cmdline")
info "dbus-daemon: $dbus_cmd"
check "dbus-daemon runs with --systemd-activation" sh -c "echo '$dbus_cmd' | grep -q -- --systemd-activation"
check "PID 1 owns org.freedesktop.systemd1 on the system bus" \
    sh -c "busctl status org.freedesktop.systemd1 2>/dev/null | grep -qx PID=1"

# --- 2. journald ------------------------------------------------------------------------------

token="t$$-$(cut -d' ' -f1 /proc/uptime)"
if sd-fixture journal "wcvm smoke structured record" "WCVM_SMOKE_TOKEN=$token" \
    "WCVM_SMOKE_KIND=sd_journal_send" PRIORITY=5; then
    journalctl --sync 2>/dev/null
    entry() { journalctl -b --no-pager -o export "WCVM_SMOKE_TOKEN=$token"; }
    if wait_until 50 sh -c "journalctl -b -o export WCVM_SMOKE_TOKEN=$token | grep -qx WCVM_SMOKE_KIND=sd_journal_send"; then
        pass "sd_journal_sendv record found by its custom field (journalctl WCVM_SMOKE_TOKEN=$token)"
        entry | grep -E '^(MESSAGE|PRIORITY|SYSLOG_IDENTIFIER|WCVM_SMOKE_[A-Z]*|_UID|_PID|_TRANSPORT)=' |
            sed 's/^/journal entry: /'
        check "the record has its fields: MESSAGE, PRIORITY=5, SYSLOG_IDENTIFIER=sd-fixture" \
            sh -c "journalctl -b -o export WCVM_SMOKE_TOKEN=$token | grep -c -x -e 'MESSAGE=wcvm smoke structured record' -e PRIORITY=5 -e SYSLOG_IDENTIFIER=sd-fixture | grep -qx 3"
        check "journald added trusted fields (_TRANSPORT=journal, _UID=0)" \
            sh -c "journalctl -b -o export WCVM_SMOKE_TOKEN=$token | grep -c -x -e _TRANSPORT=journal -e _UID=0 | grep -qx 2"
    else
        fail "sd_journal_sendv record not in the journal (journalctl WCVM_SMOKE_TOKEN=$token)"
        show systemd-journald.service
    fi
else
    fail "sd-fixture journal (sd_journal_sendv) failed"
fi
echo "wcvm smoke via systemd-cat $token" | systemd-cat -t wcvm-smoke-cat -p warning
check "systemd-cat line found by identifier and priority (stdout stream transport)" \
    wait_until 50 sh -c "journalctl -b -o export -t wcvm-smoke-cat -p warning | grep -qx 'MESSAGE=wcvm smoke via systemd-cat $token'"

# --- 3. udevd and coldplug ----------------------------------------------------------------------

udevd_pid=$(main_pid systemd-udevd.service)
check "systemd-udevd is the main process of its unit (pid $udevd_pid)" \
    [ "$(cat "/proc/$udevd_pid/comm" 2>/dev/null)" = systemd-udevd ]
n=0 missing=""
for d in "$SYS"/*; do
    n=$((n + 1))
    udevadm info -q property -p "$d" 2>/dev/null | grep -qx WCVM_COLDPLUG=seen || missing="$missing ${d##*/}"
done
check "coldplug: all $n PCI devices are in the udev database with the add-rule's property${missing:+ (missing:$missing)}" \
    [ -z "$missing" ]

# --- 4. udev SYSTEMD_WANTS on a vfio-pci bind -------------------------------------------------

if [ -z "$A" ]; then
    fail "device A (ivshmem 1af4:1110) not found"
else
    check "wcvm-udev-fixture.service is not started before the bind" inactive wcvm-udev-fixture.service
    bind_vfio "$A"
    udevadm settle --timeout=20
    drv=$(driver_of "$A")
    check "A bound to vfio-pci (driver_override + drivers_probe)" [ "$drv" = vfio-pci ]
    udevadm info -p "$SYS/$A" | grep -E '^(E: (DRIVER|SYSTEMD_WANTS|TAGS|CURRENT_TAGS)=|G: )' | sed 's/^/udev db: /'
    if wait_until 100 active wcvm-udev-fixture.service; then
        pass "udev SYSTEMD_WANTS started wcvm-udev-fixture.service on the vfio-pci bind"
    else
        fail "udev SYSTEMD_WANTS started wcvm-udev-fixture.service on the vfio-pci bind"
        show wcvm-udev-fixture.service
    fi
    devunit=$(systemctl list-units --type=device --all --plain --no-legend | awk -v a="$A.device" '$1 ~ a { print $1 }')
    info "device unit: ${devunit:-none} ($(systemctl show -p SubState --value "${devunit:-none}" 2>/dev/null))"
    check "A's device unit ${devunit:-(none)} wants the fixture" \
        sh -c "systemctl show -p WantedBy --value wcvm-udev-fixture.service | grep -q -F '${devunit:-none}'"
fi

# --- 5. D-Bus activation through systemd ------------------------------------------------------

check "wcvm-bus-fixture.service is not running before the first call" inactive wcvm-bus-fixture.service
check "org.wcvm.Fixture1 is activatable (its system-services file was read)" \
    sh -c "busctl list --activatable --no-legend 2>/dev/null | grep -q '^org.wcvm.Fixture1 '"
out=$(busctl call --timeout=60 org.wcvm.Fixture1 /org/wcvm/Fixture1 org.wcvm.Fixture1 Ping 2>&1)
info "root: busctl call Ping: $out"
case $out in
    's "pong from pid '*' to uid 0"') pass "calling org.wcvm.Fixture1 activated it and it answered root" ;;
    *) fail "calling org.wcvm.Fixture1 activated it and it answered root"; show wcvm-bus-fixture.service ;;
esac
check "wcvm-bus-fixture.service is active" active wcvm-bus-fixture.service
owner=$(busctl status org.wcvm.Fixture1 2>/dev/null | sed -n 's/^PID=//p')
check "the name's owner is the unit's main process (pid ${owner:-none})" \
    [ "${owner:-x}" = "$(main_pid wcvm-bus-fixture.service)" ]
check "dbus-daemon asked systemd to start the unit (journal: Activating via systemd)" \
    sh -c "journalctl -b -o cat -u dbus.service | grep -q \"Activating via systemd: service name='org.wcvm.Fixture1' unit='wcvm-bus-fixture.service'\""
out=$(setids 1000 1000 -- busctl call org.wcvm.Fixture1 /org/wcvm/Fixture1 org.wcvm.Fixture1 Ping 2>&1)
info "uid 1000: busctl call Ping: $out"
case $out in
    's "pong from pid '*' to uid 1000"') pass "uid 1000 calls the activated service" ;;
    *) fail "uid 1000 calls the activated service" ;;
esac

# --- 6. a hardened unit runs sandboxed --------------------------------------------------------

touch /tmp/wcvm-host-tmp-marker
probe=/run/wcvm-hardened/probe
if systemctl start wcvm-hardened.service && wait_until 100 test -s "$probe"; then
    pid=$(main_pid wcvm-hardened.service)
    sed 's/^/probe: /' "$probe"
    grep -E '^(CapBnd|CapEff|Seccomp|NoNewPrivs):' "/proc/$pid/status" | sed 's/^/status: /'
    field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }
    result() { sed -n "s/^$1=//p" "$probe"; }
    check "CapBnd is CAP_SYS_ADMIN alone (0000000000200000)" [ "$(field CapBnd)" = 0000000000200000 ]
    check "Seccomp: 2 (filter mode)" [ "$(field Seccomp)" = 2 ]
    check "NoNewPrivs: 1" [ "$(field NoNewPrivs)" = 1 ]
    check "it has its own mount namespace" [ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/1/ns/mnt)" ]
    check "ProtectSystem=strict: /usr is read-only for it, as root" [ "$(result usr)" = read-only ]
    check "ProtectSystem=strict: /etc is read-only for it" [ "$(result etc)" = read-only ]
    check "nothing it tried to write reached /usr or /etc" \
        sh -c "[ ! -e /usr/wcvm-hardened-probe ] && [ ! -e /etc/wcvm-hardened-probe ]"
    check "ProtectKernelTunables=: /proc/sys is read-only for it" [ "$(result proc-sys)" = read-only ]
    if [ -e /dev/mem ]; then
        check "PrivateDevices=: no /dev/mem in its /dev (the guest's has one)" [ "$(result dev-mem)" = absent ]
    else
        fail "the guest has no /dev/mem, so PrivateDevices= cannot be told apart"
    fi
    check "PrivateTmp=: it does not see the guest's /tmp" [ "$(result tmp)" = private ]
    check "SystemCallFilter=@system-service: mount(2) killed it with SIGSYS (status 159)" \
        [ "$(result mount-status)" = 159 ]
    check "its stdout is in the journal, with _SYSTEMD_UNIT=wcvm-hardened.service" \
        wait_until 50 sh -c "journalctl -b -o export _SYSTEMD_UNIT=wcvm-hardened.service | grep -qx 'MESSAGE=probe: usr=read-only'"
    systemctl stop wcvm-hardened.service
else
    fail "wcvm-hardened.service started and wrote its probe results"
    show wcvm-hardened.service
fi
rm -f /tmp/wcvm-host-tmp-marker

state=$(systemctl is-system-running)
check "still running after the fixtures (no unit failed)" [ "$state" = running ]
info "memory: $(awk '/^(MemTotal|MemAvailable|Shmem):/ { printf "%s %d MiB ", $1, $2 / 1024 }' /proc/meminfo)"
info "systemd smoke done on $(uname -r), $failures failure(s), uptime $(cut -d' ' -f1 /proc/uptime)s"
[ "$failures" = 0 ]
