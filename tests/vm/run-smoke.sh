#!/usr/bin/env bash
# Run the harness smoke test on each kernel: scenarios/smoke.sh + scenarios/smoke-host.sh
# (busybox /init), or with --systemd scenarios/systemd-smoke.sh (systemd as PID 1, with the
# fixtures of scenarios/systemd-smoke-tree/ and scenarios/sd-fixture.c).
#
# Usage: run-smoke.sh [--systemd] [KERNEL...]      (default: $WCVM_KERNELS or "6.1-cloud 6.12")
# Extra run-vm.sh options can be given in WCVM_RUN_ARGS (word-split), e.g. "--device-b pci-testdev".
# Output: every kernel's result lines, then "N passed, N failed, N skipped" over all kernels.
# Exit codes: 0 all passed, 1 a failure, 77 every kernel skipped (e.g. no QEMU).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
systemd=0
if [[ "${1:-}" == --systemd ]]; then
    systemd=1
    shift
fi
if [[ $# -gt 0 ]]; then
    kernels=("$@")
else
    read -r -a kernels <<<"${WCVM_KERNELS:-6.1-cloud 6.12}"
fi
read -r -a extra <<<"${WCVM_RUN_ARGS:-}"

if [[ $systemd == 1 ]]; then
    # shellcheck source-path=SCRIPTDIR source=lib.sh
    source "$here/lib.sh"
    wcvm_require_tools pkg-config
    pkg-config --exists libsystemd ||
        wcvm_skip "the systemd self-test's fixture needs libsystemd-dev (apt-get install libsystemd-dev)"
    read -r -a sd_libs <<<"$(pkg-config --libs libsystemd)"
    set +e
    sd_fixture=$(wcvm_helper_dyn scenarios/sd-fixture "${sd_libs[@]}")
    status=$?
    set -e
    [[ $status != 77 ]] || exit 77 # wcvm_skip has said why
    [[ $status == 0 ]] || wcvm_skip "cannot build scenarios/sd-fixture.c (gcc, libsystemd-dev)"
    args=(--systemd -s "$here/scenarios/systemd-smoke.sh"
        --tree "$here/scenarios/systemd-smoke-tree"
        --bin "$sd_fixture:/usr/bin/sd-fixture")
else
    args=(-s "$here/scenarios/smoke.sh"
        --bin "$(command -v dbus-send || echo /usr/bin/dbus-send)"
        --file "$here/scenarios/smoke.rules:/etc/udev/rules.d/70-wcvm-smoke.rules"
        --file "$here/scenarios/smoke-bus.conf:/etc/dbus-1/system.d/wcvm-smoke.conf"
        --host-check "$here/scenarios/smoke-host.sh")
fi

total_p=0 total_f=0 total_s=0 worst=0 ran=0
for k in "${kernels[@]}"; do
    set +e
    out=$("$here/run-vm.sh" -k "$k" "${args[@]}" "${extra[@]}")
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
