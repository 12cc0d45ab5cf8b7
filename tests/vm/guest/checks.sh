# shellcheck shell=sh
# Sourced by every guest scenario (/usr/libexec/wcbroker-vm/checks.sh): the
# result lines run-vm.sh collects, and the waiting every check on a system
# that reacts asynchronously (udev, the bus, systemd) needs.
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
