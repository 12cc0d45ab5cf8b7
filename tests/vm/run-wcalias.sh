#!/usr/bin/env bash
# The wcalias kernel module (kmod/) tested through its uAPI on real Debian kernels under QEMU
# (issue 13): for each KERNEL, build-kmod.sh builds the module against that kernel's headers,
# then two boots of scenarios/wcalias.sh with the module in the guest (--kmod, not loaded at
# boot): a normal one running wcalias-check (host check: scenarios/wcalias-host.sh), and one
# with lockdown=integrity, where loading it must fail.
#
# Usage: run-wcalias.sh [--tap] [KERNEL...]     (default: 6.1-cloud)
#   --tap   TAP for meson's test runner (one test per check)
# Environment: WCVM_KMOD_SRC (module source, default kmod/), and run-vm.sh's.
# Exit: 0 all passed, 1 a failure, 77 something needed is missing (SKIP, with the reason).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

tap=0
if [[ ${1:-} == --tap ]]; then
    tap=1
    shift
fi
kernels=("$@")
[[ ${#kernels[@]} -gt 0 ]] || kernels=(6.1-cloud)

skip() {
    if [[ $tap == 1 ]]; then
        echo "1..0 # SKIP $*"
        exit 0
    fi
    echo "SKIP: $*"
    exit 77
}
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"

# run_skippable VAR COMMAND... : VAR = COMMAND's stdout; a skip (77) of COMMAND skips us, with
# its reason.
run_skippable() {
    local -n into=$1
    local status
    shift
    set +e
    into=$("$@" {WCVM_RESULT_FD}>&1)
    status=$?
    set -e
    if [[ $status == 77 ]]; then
        skip "$(sed -n 's/^SKIP: //p' <<<"$into" | head -n1)"
    fi
    return "$status"
}

checker=""
run_skippable checker wcvm_helper wcalias-check || skip "cannot build the static wcalias-check (gcc -static needs libc6-dev)"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
worst=0
for kernel in "${kernels[@]}"; do
    ko=""
    t0=$(date +%s.%N)
    if ! run_skippable ko "$here/build-kmod.sh" "$kernel" 2>"$results.build"; then
        echo "FAIL: [$kernel] build-kmod.sh: the module does not build for $kernel" >>"$results"
        sed 's/^/    /' "$results.build" >&2
        worst=1
        continue
    fi
    ko=$(tail -n1 <<<"$ko")
    wcvm_log "$kernel: module $ko ($(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN {printf "%.1f", t1 - t0}') s)"
    for boot in normal lockdown; do
        args=(-k "$kernel" -s "$here/scenarios/wcalias.sh" --kmod "$ko" --bin "$checker:/usr/bin/wcalias-check")
        if [[ $boot == lockdown ]]; then
            args+=(--append lockdown=integrity)
        else
            args+=(--host-check "$here/scenarios/wcalias-host.sh")
        fi
        workdir=$(mktemp -d "${TMPDIR:-/tmp}/wcalias-vm.XXXXXX")
        set +e
        "$here/run-vm.sh" --workdir "$workdir" "${args[@]}" >"$results.boot" 2>"$workdir/run-vm.stderr"
        rc=$?
        set -e
        # Each result line names its boot.
        grep -a -E '^(PASS|FAIL|SKIP):' "$results.boot" | sed -E "s/^(PASS|FAIL|SKIP): \[([^]]*)\]/\1: [\2 $boot]/" >>"$results" || true
        grep -a '^INFO:' "$workdir/console.log" | sed "s/^/$kernel $boot: /" >&2 || true
        grep -a 'boot to poweroff' "$workdir/run-vm.stderr" >&2 || true
        case $rc in
        0) rm -rf "$workdir" ;;
        77) rm -rf "$workdir"; skip "$(grep -m1 '^SKIP:' "$results.boot" | cut -c7-)" ;;
        *)
            worst=1
            wcvm_boot_failed "$results" "$results.boot" "$workdir" "$kernel $boot" wcalias
            ;;
        esac
    done
done
rm -f "$results.boot" "$results.build"

if [[ $tap == 1 ]]; then
    wcvm_results_as_tap "$results"
    exit 0
fi
cat "$results"
echo "$(grep -c '^PASS:' "$results" || true) passed, $(grep -c '^FAIL:' "$results" || true) failed on ${kernels[*]}"
exit $worst
