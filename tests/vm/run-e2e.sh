#!/usr/bin/env bash
# wcbroker's end-to-end tests on real kernels under QEMU. By default (issue
# #5) a busybox guest with the project's own binaries, bus policy and udev
# rules runs scenarios/e2e.sh, and the host checks what the guest wrote.
# With --systemd (issue #6) the build's "meson install" tree goes into a
# guest where systemd is PID 1, and scenarios/systemd-e2e.sh checks that
# the unit, udev rules, D-Bus activation and journal work as installed.
# With --debs DIR as well, the tree is the Debian packages in DIR instead
# (scripts/build-debs.sh: wcbroker and libwcbroker0, unpacked).
# With --wcalias (issue 13) the busybox guest also gets the wcalias module
# built for its kernel, and scenarios/e2e-wcalias.sh drives wcbrokerd
# through it; --lockdown boots that guest with lockdown=integrity.
#
# Usage: run-e2e.sh [--tap] [--narrate] [--systemd [--debs DIR]|--wcalias [--lockdown]] BUILD_DIR [KERNEL...]
#   KERNEL defaults to "6.1-cloud 6.12" (see kernels.sh).
#   --tap      print TAP for meson's test runner (one test per check)
#   --narrate  print the guest's narration too (the demo)
#   --systemd  the installed tree under systemd instead
#   --debs DIR the Debian 12 packages in DIR as the installed tree (the guest's
#              userland is the host's, so not Debian 13's packages)
#   --wcalias  the wcalias module and scenarios/e2e-wcalias.sh instead
#   --lockdown with --wcalias: under lockdown=integrity
# Exit: 0 all passed, 1 a failure, 77 QEMU or another tool is missing (SKIP).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
source=$(cd "$here/../.." && pwd)

tap=0 narrate=0 systemd=0 debs="" wcalias=0 lockdown=0
usage="usage: $0 [--tap] [--narrate] [--systemd [--debs DIR]|--wcalias [--lockdown]] BUILD_DIR [KERNEL...]"
while [[ $# -gt 0 && $1 == --* ]]; do
    case $1 in
    --tap) tap=1 ;;
    --narrate) narrate=1 ;;
    --systemd) systemd=1 ;;
    --debs) debs=$(cd "$2" && pwd); shift ;;
    --wcalias) wcalias=1 ;;
    --lockdown) lockdown=1 ;;
    *) echo "$usage" >&2; exit 2 ;;
    esac
    shift
done
[[ $# -ge 1 && ( -z $debs || $systemd == 1 ) ]] || { echo "$usage" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
kernels=("$@")
[[ ${#kernels[@]} -gt 0 ]] || kernels=(6.1-cloud 6.12)

skip() {
    if [[ $tap == 1 ]]; then
        echo "1..0 # SKIP $*"
        exit 0
    fi
    echo "SKIP: $*"
    exit 77
}
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
for binary in daemon/wcbrokerd cli/wcbrokerctl; do
    [[ -x $build/$binary ]] || { echo "FAIL: $build/$binary is not built" >&2; exit 1; }
done
results=$(mktemp)
stage=""
trap 'rm -rf "$results" $stage' EXIT
if [[ $systemd == 1 ]]; then
    command -v meson >/dev/null || skip "meson is not installed"
    prefix=$(meson introspect --buildoptions "$build" |
        python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
    # dbus-daemon, systemd and udev read their files from /usr only: a tree
    # built for another prefix would fail most checks for that reason alone.
    [[ $prefix == /usr || -n $debs ]] || skip "the systemd scenario installs the build as a package would, which needs" \
        "--prefix=/usr (docs/install.md); $build is configured with --prefix=$prefix"
    # What a package would ship: the build's own install tree, or the
    # packages' files (their maintainer scripts do not run: the guest boots
    # with the files in place, as after an installation and a reboot).
    stage=$(mktemp -d "${TMPDIR:-/tmp}/wcbroker-install.XXXXXX")
    if [[ -n $debs ]]; then
        for deb in "$debs"/wcbroker_*.deb "$debs"/libwcbroker0_*.deb; do
            [[ -f $deb ]] || { echo "FAIL: no $(basename "$deb") in $debs" >&2; exit 1; }
            dpkg-deb -x "$deb" "$stage"
        done
    else
        # Stripped, as a package's files are: with debug information wcbrokerd and
        # wcbrokerctl alone are 57 MB, which no longer fit in the guest's RAM
        # ("Initramfs unpacking failed: write error") on the larger 6.12 and 7.3 kernels.
        meson install -C "$build" --no-rebuild --quiet --strip --destdir "$stage" >/dev/null
    fi
    sbin=$(find "$stage" -path '*/sbin/wcbrokerd' | head -n1)
    bin=$(find "$stage" -path '*/bin/wcbrokerctl' | head -n1)
    vm_inputs=(--systemd --tree "$stage" --bin "$sbin" --bin "$bin" -s "$here/scenarios/systemd-e2e.sh"
        --file "$here/scenarios/e2e-policy.toml:/etc/wcbroker/policy.toml")
    # The module's steps (9): the module for each kernel, and a client.
    wcalias=1
    lease_probe=$(wcvm_helper_dyn lease-probe -I"$source/client/libwcbroker" -L"$build/client/libwcbroker" \
        -Wl,-rpath,"$build/client/libwcbroker" -lwcbroker) || skip "cannot build tests/vm/lease-probe.c"
    vm_inputs+=(--bin "$lease_probe:/usr/bin/lease-probe" --env WCVM_WCALIAS=1)
else
    set +e
    # A skip's reason comes out with the path, not on this script's stdout.
    vfio_user=$(wcvm_helper vfio-user {WCVM_RESULT_FD}>&1)
    status=$?
    set -e
    if [[ $status == 77 ]]; then
        skip "$(sed -n 's/^SKIP: //p' <<<"$vfio_user" | head -n1)"
    fi
    [[ $status == 0 ]] || skip "cannot build the static VFIO test helper (gcc -static needs libc6-dev)"
    vm_inputs=(-s "$here/scenarios/e2e.sh"
        --bin "$build/daemon/wcbrokerd:/usr/sbin/wcbrokerd"
        --bin "$build/cli/wcbrokerctl:/usr/bin/wcbrokerctl"
        --bin "$vfio_user:/usr/bin/vfio-user"
        --file "$source/dbus/org.wcbroker.Broker1.conf:/usr/share/dbus-1/system.d/org.wcbroker.Broker1.conf"
        --file "$source/udev-rules/70-wcbroker.rules:/etc/udev/rules.d/70-wcbroker.rules"
        --file "$here/scenarios/e2e-policy.toml:/etc/wcbroker/policy.toml")
    # Under lockdown nothing is written to the BAR: nothing for the host to check.
    [[ $lockdown == 1 ]] || vm_inputs+=(--host-check "$here/scenarios/e2e-host.sh")
    if [[ $wcalias == 1 ]]; then
        # A libwcbroker client linked against this build's library.
        lease_probe=$(wcvm_helper_dyn lease-probe -I"$source/client/libwcbroker" -L"$build/client/libwcbroker" \
            -Wl,-rpath,"$build/client/libwcbroker" -lwcbroker) || skip "cannot build tests/vm/lease-probe.c"
        vm_inputs[1]=$here/scenarios/e2e-wcalias.sh
        vm_inputs+=(--bin "$lease_probe:/usr/bin/lease-probe")
        [[ $lockdown == 0 ]] || vm_inputs+=(--append lockdown=integrity --env WCVM_LOCKDOWN=1)
    fi
fi

worst=0
for kernel in "${kernels[@]}"; do
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/wcbroker-e2e.XXXXXX")
    kernel_inputs=()
    if [[ $wcalias == 1 ]]; then
        # Built for exactly this kernel, with the compiler that built it.
        set +e
        ko=$("$here/build-kmod.sh" "$kernel" 2>"$workdir/build-kmod.stderr")
        rc=$?
        set -e
        # build-kmod.sh says why it skips on its standard output, as "SKIP: reason".
        [[ $rc != 77 ]] || skip "$(sed -n 's/^SKIP: //p' <<<"$ko" | head -n1)"
        if [[ $rc != 0 ]]; then
            echo "FAIL: [$kernel] the wcalias module builds for this kernel (tests/vm/build-kmod.sh)" >>"$results"
            tail -20 "$workdir/build-kmod.stderr" >&2
            worst=1
            continue
        fi
        kernel_inputs=(--kmod "$ko")
    fi
    set +e
    "$here/run-vm.sh" -k "$kernel" --workdir "$workdir" "${vm_inputs[@]}" "${kernel_inputs[@]}" >"$results.$kernel" 2>"$workdir/run-vm.stderr"
    rc=$?
    set -e
    case $rc in
    0) ;;
    77) [[ $tap == 1 ]] || cat "$results.$kernel"; skip "$(grep -m1 '^SKIP:' "$results.$kernel" | cut -c7-)" ;;
    *) worst=1 ;;
    esac
    if [[ $narrate == 1 ]]; then
        echo
        echo "##### Linux $(grep -a -m1 -o 'kernel [^,]*' "$workdir/console.log" | cut -d' ' -f2) under QEMU #####"
        # The guest's narration and checks, then the host's checks.
        grep -a -E '^(==|   |PASS:|FAIL:|SKIP:|$)' "$workdir/console.log" || true
        echo
        echo "== On the host, after the guest powered off"
        grep -a '^[A-Z]*: \[[^]]*\] host:' "$results.$kernel" || true
    fi
    grep -a -E '^(PASS|FAIL|SKIP):' "$results.$kernel" >>"$results" || true
    if [[ $rc != 0 && $rc != 77 ]]; then
        wcvm_boot_failed "$results" "$results.$kernel" "$workdir" "$kernel" e2e
    else
        rm -rf "$workdir"
    fi
    rm -f "$results.$kernel"
done

if [[ $tap == 1 ]]; then
    wcvm_results_as_tap "$results"
    exit 0
fi
[[ $narrate == 1 ]] || cat "$results"
passed=$(grep -c '^PASS:' "$results" || true)
failed=$(grep -c '^FAIL:' "$results" || true)
echo "$passed passed, $failed failed on ${kernels[*]}"
exit $worst
