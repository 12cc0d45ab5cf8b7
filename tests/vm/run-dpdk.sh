#!/usr/bin/env bash
# Issue 14's proof on real Debian kernels under QEMU: the host's own
# dpdk-testpmd (Debian's dpdk-dev, with the virtio-net and mempool-ring PMD
# plugins) drives a virtio-net NIC under vfio-pci in the guest, as uid
# 1000, without and then with the LD_PRELOAD shim that gets BAR4 from
# wcbrokerd (scenarios/dpdk.sh); the host counts the frames QEMU dumped
# (scenarios/dpdk-host.sh). One boot per kernel.
#
# Usage: run-dpdk.sh [--tap] [--shim FILE] [--runs N] BUILD_DIR [KERNEL...]
#   KERNEL      default 6.1-cloud (see kernels.sh)
#   --tap       TAP for meson's test runner (one test per check)
#   --shim FILE the shim (default BUILD_DIR/client/preload/libwcbroker-preload.so when built;
#               without it the shim's checks SKIP, loudly)
#   --runs N    testpmd start-ups timed per side (default 3; the first also runs the checks;
#               the others alternate between the sides)
# Environment: run-vm.sh's (WCVM_KEEP=1 also keeps a passing boot's workdir). Start-up times are printed on stderr, and as
# "WCVM-DPDK-STARTUP" lines in the kept console log.
# Exit: 0 all passed, 1 a failure, 77 dpdk-testpmd, QEMU or another tool is missing (SKIP).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
source=$(cd "$here/../.." && pwd)

tap=0 shim="" runs=3
usage="usage: $0 [--tap] [--shim FILE] [--runs N] BUILD_DIR [KERNEL...]"
while [[ $# -gt 0 && $1 == --* ]]; do
    case $1 in
    --tap) tap=1 ;;
    --shim) shim=$(realpath "${2:?}"); shift ;;
    --runs) runs=${2:?}; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
    esac
    shift
done
[[ $# -ge 1 && $runs =~ ^[1-9][0-9]*$ ]] || { echo "$usage" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
kernels=("$@")
[[ ${#kernels[@]} -gt 0 ]] || kernels=(6.1-cloud)

skip() {
    if [[ $tap == 1 ]]; then
        echo "1..0 # SKIP $*"
        exit 0
    fi
    printf '\n*** SKIP: %s ***\n' "$*" >&2
    echo "SKIP: $*"
    exit 77
}
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
testpmd=$(command -v dpdk-testpmd || true)
[[ -n $testpmd ]] || skip "dpdk-testpmd is not installed (scripts/install-deps.sh: dpdk-dev, librte-net-virtio23 or 25)"
# Debian builds testpmd with its PMD directory as RUNPATH; the EAL loads
# plugins from there, and the ones testpmd does not link are the NIC's
# driver and the default mempool handler.
pmds=$(readelf -d "$testpmd" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p' | cut -d: -f1)
plugins=()
for name in librte_net_virtio librte_mempool_ring; do
    p=$(find "${pmds:-/nonexistent}" -maxdepth 1 -name "$name.so.[0-9]*" 2>/dev/null | sort | head -n1)
    [[ -n $p ]] || skip "no $name plugin in '${pmds:-testpmd has no RUNPATH}' (install the virtio-net PMD: librte-net-virtio23 on Debian 12, 25 on 13)"
    plugins+=("$p")
done
for binary in daemon/wcbrokerd cli/wcbrokerctl; do
    [[ -x $build/$binary ]] || { echo "FAIL: $build/$binary is not built" >&2; exit 1; }
done
if [[ -z $shim && -f $build/client/preload/libwcbroker-preload.so ]]; then
    shim=$build/client/preload/libwcbroker-preload.so
fi
[[ -n $shim ]] || printf '\n*** SKIP: shim not built (%s): only the runs without it ***\n' \
    "$build/client/preload/libwcbroker-preload.so" >&2

vm_inputs=(-s "$here/scenarios/dpdk.sh" --memory 768
    --bin "$build/daemon/wcbrokerd:/usr/sbin/wcbrokerd"
    --bin "$build/cli/wcbrokerctl:/usr/bin/wcbrokerctl"
    --bin "$testpmd"
    --file "$source/dbus/org.wcbroker.Broker1.conf:/usr/share/dbus-1/system.d/org.wcbroker.Broker1.conf"
    --file "$source/udev-rules/70-wcbroker.rules:/etc/udev/rules.d/70-wcbroker.rules"
    --host-check "$here/scenarios/dpdk-host.sh"
    --env "WCVM_DPDK_PLUGINS=${plugins[*]}" --env "WCVM_DPDK_RUNS=$runs")
for p in "${plugins[@]}"; do
    vm_inputs+=(--lib "$p")
done
if [[ -n $shim ]]; then
    vm_inputs+=(--lib "$shim:/usr/lib/x86_64-linux-gnu/wcbroker/$(basename "$shim")"
        --env "WCVM_SHIM=/usr/lib/x86_64-linux-gnu/wcbroker/$(basename "$shim")")
fi

results=$(mktemp)
trap 'rm -f "$results" "$results.boot"' EXIT
worst=0
for kernel in "${kernels[@]}"; do
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/wcbroker-dpdk.XXXXXX")
    kernel_inputs=()
    if [[ -n $shim ]]; then
        # The module lets the shim's leases work on 7.x, where vfio-pci
        # claims every BAR at open; without it that part is skipped.
        set +e
        ko=$("$here/build-kmod.sh" "$kernel" 2>"$workdir/build-kmod.stderr")
        rc=$?
        set -e
        if [[ $rc == 0 ]]; then
            kernel_inputs=(--kmod "$(tail -n1 <<<"$ko")" --env WCVM_WCALIAS=1)
        else
            echo "SKIP: [$kernel] the shim through the wcalias module: build-kmod.sh $(sed -n 's/^SKIP: //p' <<<"$ko" | head -n1)" >>"$results"
        fi
    fi
    set +e
    "$here/run-vm.sh" -k "$kernel" --workdir "$workdir" --virtio-net "$workdir/nic.pcap" \
        "${vm_inputs[@]}" "${kernel_inputs[@]}" >"$results.boot" 2>"$workdir/run-vm.stderr"
    rc=$?
    set -e
    grep -a -E '^(PASS|FAIL|SKIP):' "$results.boot" >>"$results" || true
    grep -a -h 'boot to poweroff' "$workdir/run-vm.stderr" >&2 || true
    grep -a -h -E '^WCVM-DPDK-(STARTUP|TX)|^host: ' "$workdir/console.log" "$workdir/check.out" 2>/dev/null | sed "s/^/$kernel: /" >&2 || true
    case $rc in
    0) if [[ ${WCVM_KEEP:-0} == 1 ]]; then echo "kept $workdir" >&2; else rm -rf "$workdir"; fi ;;
    77) rm -rf "$workdir"; skip "$(grep -m1 '^SKIP:' "$results.boot" | cut -c7-)" ;;
    *)
        worst=1
        wcvm_boot_failed "$results" "$results.boot" "$workdir" "$kernel" dpdk
        ;;
    esac
done

if [[ $tap == 1 ]]; then
    wcvm_results_as_tap "$results"
    exit 0
fi
cat "$results"
echo "$(grep -c '^PASS:' "$results" || true) passed, $(grep -c '^FAIL:' "$results" || true) failed, $(grep -c '^SKIP:' "$results" || true) skipped on ${kernels[*]}"
exit $worst
