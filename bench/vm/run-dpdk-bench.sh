#!/usr/bin/env bash
# dpdk-testpmd's start-up time without and with the preload shim (issue 14,
# docs/performance.md "dpdk-testpmd through the shim"), in one QEMU guest
# per kernel: tests/vm/run-dpdk.sh with RUNS timed start-ups per side, alternating
# (exec to the "testpmd> " prompt, as uid 1000, the NIC under vfio-pci).
# The shim's side gets its leases through the wcalias module (built for the
# kernel), else through sysfs (6.x only). Prints each kernel's times, medians and ratio.
# Under TCG: the ratio is what counts, not the seconds.
#
# Usage: bench/vm/run-dpdk-bench.sh [RUNS [BUILD_DIR [KERNEL...]]]
#        (default 7 build 6.1-cloud; as root; BUILD_DIR has wcbrokerd,
#        wcbrokerctl and client/preload/libwcbroker-preload.so built)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source=$(cd "$here/../.." && pwd)
runs=${1:-7}
build=$(cd "${2:-$source/build}" && pwd)
shift $(($# > 2 ? 2 : $#))
kernels=("$@")
[[ ${#kernels[@]} -gt 0 ]] || kernels=(6.1-cloud)
[[ -f $build/client/preload/libwcbroker-preload.so ]] ||
    { echo "bench: $build/client/preload/libwcbroker-preload.so is not built" >&2; exit 1; }

for kernel in "${kernels[@]}"; do
    log=$(mktemp)
    # Seven runs a side outlast run-vm.sh's default 300 s on 7.3.
    WCVM_TIMEOUT=${WCVM_TIMEOUT:-900} "$source/tests/vm/run-dpdk.sh" --runs "$runs" "$build" "$kernel" >/dev/null 2>"$log" || true
    echo "== $kernel"
    grep -E 'WCVM-DPDK-STARTUP |boot to poweroff' "$log" | sed 's/^[^:]*: //' | uniq
    median=$(grep -m1 'WCVM-DPDK-STARTUP-MEDIAN' "$log" | sed 's/^[^:]*: //')
    echo "${median:-no medians: the run failed}"
    rm -f "$log"
done
