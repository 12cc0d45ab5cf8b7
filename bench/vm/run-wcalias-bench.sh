#!/usr/bin/env bash
# The wcalias module's benchmarks (docs/performance.md, "The wcalias
# module"), in one QEMU guest booted with the module built for its kernel:
#   1. wcalias-bench.c: the module's own costs (acquire, faults, revocation)
#      against sysfs-wc and a memfd floor;
#   2. daemon-bench.c through wcbrokerd serving through the module: acquire
#      against a D-Bus round-trip floor, revocation by reload and by unbind;
#   3. daemon-bench.c again after the module is unloaded and wcbrokerd
#      restarted, so that it serves through sysfs-wc.
# Prints their RESULT, RATIO and MECHANISM lines. Under TCG: the figures are
# the paths' costs relative to each other, not real hardware timings.
#
# Usage: bench/vm/run-wcalias-bench.sh [KERNEL [ITERATIONS [BUILD_DIR]]]
#        (default 7.3 1000 build; as root; BUILD_DIR has wcbrokerd built)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source=$(cd "$here/../.." && pwd)
kernel=${1:-7.3}
iterations=${2:-1000}
build=$(cd "${3:-$source/build}" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/wcalias-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

gcc -static -O2 -Wall -Wextra -Werror -I"$source/kmod/uapi" -o "$work/wcalias-bench" "$here/wcalias-bench.c"
gcc -O2 -Wall -Wextra -Werror -I"$source/client/libwcbroker" -o "$work/daemon-bench" "$here/daemon-bench.c" \
    -L"$build/client/libwcbroker" -Wl,-rpath,"$build/client/libwcbroker" -lwcbroker -lsystemd
ko=$("$source/tests/vm/build-kmod.sh" "$kernel")
cat >"$work/scenario.sh" <<SCENARIO
#!/bin/sh
. /usr/libexec/wcbroker-vm/checks.sh
A=\$WCVM_DEV_A
start_daemon() {
    wcbrokerd --log-level warning 2>>/tmp/wcbrokerd.log &
    daemon=\$!
    wait_until 100 served "\$A" || { fail "wcbrokerd serves \$A"; exit 1; }
}
echo "kernel \$(uname -r), \$(nproc) vCPU, TCG"
modprobe wcalias || { fail "modprobe wcalias"; exit 1; }
bind_vfio "\$A"
wcalias-bench "\$A" 2 $iterations || fail "wcalias-bench"
start_daemon
if ! daemon-bench --revocations /etc/wcbroker/policy.toml /etc/wcbroker/grantless.toml "\$A" 2 $iterations; then
    fail "daemon-bench through the module"
    kill -0 \$daemon 2>/dev/null || { wait \$daemon; echo "wcbrokerd.log: wcbrokerd exited with status \$?"; }
    sed 's/^/wcbrokerd.log: /' /tmp/wcbrokerd.log | grep -v 'kind=acquire-granted\|kind=lease-released' | tail -30
    dmesg | tail -30 | sed 's/^/dmesg: /'
fi
kill \$daemon
wait \$daemon
rmmod wcalias
start_daemon
daemon-bench "\$A" 2 $iterations || fail "daemon-bench through sysfs"
kill \$daemon
wait \$daemon
pass "the benchmarks ran"
SCENARIO
status=0
WCVM_KEEP=1 "$source/tests/vm/run-vm.sh" -k "$kernel" --kmod "$ko" -s "$work/scenario.sh" \
    --bin "$work/wcalias-bench:/usr/bin/wcalias-bench" --bin "$work/daemon-bench:/usr/bin/daemon-bench" \
    --bin "$build/daemon/wcbrokerd:/usr/sbin/wcbrokerd" --bin "$build/cli/wcbrokerctl:/usr/bin/wcbrokerctl" \
    --file "$source/dbus/org.wcbroker.Broker1.conf:/usr/share/dbus-1/system.d/org.wcbroker.Broker1.conf" \
    --file "$here/bench-policy.toml:/etc/wcbroker/policy.toml" \
    --file "$here/bench-policy-grantless.toml:/etc/wcbroker/grantless.toml" \
    --timeout 1800 --workdir "$work/vm" >"$work/run.log" 2>&1 || status=$?
grep -a -E '^(RESULT|RATIO|MECHANISM|kernel|FAIL:|wcbrokerd.log:|dmesg:) ' "$work/vm/console.log" || true
if [[ $status != 0 ]]; then
    cat "$work/run.log" >&2
    exit "$status"
fi
