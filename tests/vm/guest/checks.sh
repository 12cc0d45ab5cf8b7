# shellcheck shell=sh
# Sourced by every guest scenario (/usr/libexec/wcbroker-vm/checks.sh): the
# result lines run-vm.sh collects, the waiting every check on a system that
# reacts asynchronously (udev, the bus, systemd) needs, and the few device
# questions and actions the scenarios share.
# POSIX sh for busybox ash; counts failures in $failures.

failures=0
pass() { echo "PASS: $*"; }
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
info() { echo "INFO: $*"; }
# check DESCRIPTION COMMAND... : PASS or FAIL on the command's status
check() {
    d=$1
    shift
    if "$@"; then pass "$d"; else fail "$d"; fi
}
# wait_until TENTHS COMMAND... : retry COMMAND quietly for up to TENTHS tenths of a second
wait_until() {
    t=$1 n=0
    shift
    until "$@" >/dev/null 2>&1; do
        n=$((n + 1))
        [ "$n" -le "$t" ] || return 1
        sleep 0.1
    done
}

# The guest's PCI devices, by address (BDF).
SYS=/sys/bus/pci/devices
# driver_of BDF : the name of the driver bound to the device; nothing when none is
# Narration of the e2e scenarios: "== " a step, three spaces what was asked,
# done and seen.
step() {
    echo
    echo "== $*"
}
say() { echo "   $*"; }
# wait_for CONDITION-COMMAND... : up to 10 s
wait_for() { wait_until 100 "$@"; }
contains() { grep -q -- "$2" "$1"; }
# bar_start BDF N: BAR N's start address, from the device's resource file.
bar_start() { sed -n "$(($2 + 1))p" "$SYS/$1/resource" | cut -d' ' -f1; }

driver_of() {
    if [ -e "$SYS/$1/driver" ]; then basename "$(readlink "$SYS/$1/driver")"; fi
}
# bind_vfio BDF : hand the device to vfio-pci as an admin does (driver_override + drivers_probe)
bind_vfio() {
    echo vfio-pci >"$SYS/$1/driver_override"
    echo "$1" >/sys/bus/pci/drivers_probe
}
# served BDF / not_served BDF : whether wcbrokerd lists the device
served() { wcbrokerctl list-devices | grep -q "^$1 "; }
not_served() { ! served "$1"; }

# In systemd mode: active UNIT / inactive UNIT, and show UNIT, its status and
# last log lines, prefixed, for when a check about it failed.
active() { [ "$(systemctl is-active "$1" 2>/dev/null)" = active ]; }
inactive() { [ "$(systemctl is-active "$1" 2>/dev/null)" = inactive ]; }
show() {
    systemctl status --no-pager -n 0 "$1" 2>&1 | sed "s/^/status $1: /"
    journalctl -b --no-pager -o short-monotonic -u "$1" -n 30 2>&1 | sed "s/^/journal $1: /"
}
