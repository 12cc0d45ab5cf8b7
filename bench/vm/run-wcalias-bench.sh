#!/usr/bin/env bash
# Runs bench/vm/wcalias-bench.c in a QEMU guest with the wcalias module
# built for that guest's kernel, and prints its RESULT and RATIO lines
# (docs/performance.md, "The wcalias module"). Under TCG: the figures are the
# kernel paths' costs relative to each other, not real hardware timings.
#
# Usage: bench/vm/run-wcalias-bench.sh [KERNEL] [ITERATIONS]   (default 7.3 1000; as root)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source=$(cd "$here/../.." && pwd)
kernel=${1:-7.3}
iterations=${2:-1000}

work=$(mktemp -d "${TMPDIR:-/tmp}/wcalias-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

gcc -static -O2 -Wall -Wextra -Werror -I"$source/kmod/uapi" -o "$work/wcalias-bench" "$here/wcalias-bench.c"
ko=$("$source/tests/vm/build-kmod.sh" "$kernel")
cat >"$work/scenario.sh" <<SCENARIO
#!/bin/sh
. /usr/libexec/wcbroker-vm/checks.sh
modprobe wcalias || { fail "modprobe wcalias"; exit 1; }
bind_vfio "\$WCVM_DEV_A"
echo "kernel \$(uname -r), \$(nproc) vCPU, TCG"
if wcalias-bench "\$WCVM_DEV_A" 2 $iterations; then pass "wcalias-bench ran"; else fail "wcalias-bench"; fi
SCENARIO
status=0
WCVM_KEEP=1 "$source/tests/vm/run-vm.sh" -k "$kernel" --kmod "$ko" -s "$work/scenario.sh" \
    --bin "$work/wcalias-bench:/usr/bin/wcalias-bench" --timeout 900 --workdir "$work/vm" >"$work/run.log" 2>&1 || status=$?
grep -E '^(RESULT|RATIO|kernel) ' "$work/vm/console.log" || true
if [[ $status != 0 ]]; then
    cat "$work/run.log" >&2
    exit "$status"
fi
