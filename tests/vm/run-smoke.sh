#!/usr/bin/env bash
# Run the harness smoke test (scenarios/smoke.sh + scenarios/smoke-host.sh) on each kernel.
#
# Usage: run-smoke.sh [KERNEL...]      (default: $WCVM_KERNELS or "6.1-cloud 6.12")
# Extra run-vm.sh options can be given in WCVM_RUN_ARGS (word-split), e.g. "--device-b pci-testdev".
# Output: every kernel's result lines, then "N passed, N failed, N skipped" over all kernels.
# Exit codes: 0 all passed, 1 a failure, 77 every kernel skipped (e.g. no QEMU).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -gt 0 ]]; then
    kernels=("$@")
else
    read -r -a kernels <<<"${WCVM_KERNELS:-6.1-cloud 6.12}"
fi
read -r -a extra <<<"${WCVM_RUN_ARGS:-}"

total_p=0 total_f=0 total_s=0 worst=0 ran=0
for k in "${kernels[@]}"; do
    set +e
    out=$("$here/run-vm.sh" -k "$k" -s "$here/scenarios/smoke.sh" \
        --bin "$(command -v dbus-send || echo /usr/bin/dbus-send)" \
        --file "$here/scenarios/smoke.rules:/etc/udev/rules.d/70-wcvm-smoke.rules" \
        --file "$here/scenarios/smoke-bus.conf:/etc/dbus-1/system.d/wcvm-smoke.conf" \
        --host-check "$here/scenarios/smoke-host.sh" "${extra[@]}")
    rc=$?
    set -e
    grep -E '^(PASS|FAIL|SKIP):' <<<"$out" || true
    # Count from the lines, not the exit code, so the total is exact.
    p=$(grep -c '^PASS:' <<<"$out" || true)
    f=$(grep -c '^FAIL:' <<<"$out" || true)
    s=$(grep -c '^SKIP:' <<<"$out" || true)
    case $rc in
        0) ran=1 ;;
        77) ;;
        *) worst=1; [[ $f != 0 ]] || f=1 ;; # a crash before any FAIL line still counts
    esac
    total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
done
echo "$total_p passed, $total_f failed, $total_s skipped"
[[ $worst == 0 ]] || exit 1
[[ $ran == 1 ]] || exit 77
