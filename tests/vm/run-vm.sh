#!/usr/bin/env bash
# Boot a Debian kernel under QEMU/TCG with two test PCI devices, run a guest scenario, collect
# its PASS:/FAIL:/SKIP: lines, run host-side checks, and exit accordingly.
#
# Usage:
#   run-vm.sh -k KERNEL [--systemd] [-s SCENARIO] [--tree DIR]... [--bin SRC[:DEST]]...
#             [--file SRC:DEST]... [--env NAME=VALUE]... [--host-check EXE]... [--initrd FILE]
#             [--timeout SECS] [--append "ARGS"] [--device-b edu|pci-testdev] [--workdir DIR]
#             [--shm-init FILE] [--memory MIB] [--kmod FILE.ko]... [--lib SRC[:DEST]]...
#             [--virtio-net PCAP]
#
#   -k KERNEL          6.1-cloud | 6.1 | 6.12 | a Debian linux-image package | a kernels.sh dir
#   -s SCENARIO        guest script (see build-initramfs.sh --scenario); --tree/--bin/--file/--env
#                      are passed to build-initramfs.sh unchanged, and so is --kmod (an
#                      out-of-tree module for modprobe in the guest, never loaded at boot),
#                      and so is --lib (a shared object, e.g. a DPDK PMD plugin, with its
#                      ldd closure)
#   --systemd          systemd as PID 1 (build-initramfs.sh --systemd); the scenario runs from
#                      wcvm-scenario.service once the boot is over.  The image decides the mode:
#                      with --initrd this only labels the log
#   --memory MIB       guest RAM (default 256, in both modes: systemd mode leaves 149 of 210
#                      MiB available after its self-test, busybox mode 164)
#   --host-check EXE   run on the host after the guest powered off, with the environment below;
#                      its PASS:/FAIL:/SKIP: stdout lines join the results; exit != 0 is a FAIL
#   --initrd FILE      use a prebuilt initramfs instead of building one
#   --timeout SECS     wall-clock limit for QEMU (default $WCVM_TIMEOUT or 300: TCG on a busy
#                      2-core machine can be slow; a normal run takes 5-20 s)
#   --append "ARGS"    extra kernel command line (e.g. "loglevel=7 wcvm.dmesg=1"; wcvm.journal=1
#                      dumps the journal in systemd mode)
#   --device-b NAME    QEMU model for device B, the non-prefetchable one (default edu)
#   --shm-init FILE    initial content of device A's BAR2 (default: zeros), e.g. for a test in
#                      which the host writes and the guest reads
#   --virtio-net PCAP  add a virtio-net NIC (device N below) on user-mode networking cut off
#                      from the host, and write every frame the guest sends through it to PCAP
#                      (filter-dump),
#                      which the host check can count; the IOMMU then also remaps interrupts
#                      (intremap=on) and translates 48-bit addresses (aw-bits=48: DPDK's
#                      IOVA-as-VA needs user addresses to fit).  Off by default, so other
#                      scenarios see the same machine as before
#   --workdir DIR      where console.log, results.txt, the initramfs and the ivshmem backing
#                      file go (default: a new temp dir, removed on success unless WCVM_KEEP=1)
#
# Guest hardware (q35, SeaBIOS, intel-iommu, 256 MiB, 1 vCPU):
#   device A  0000:00:03.0  ivshmem-plain 1af4:1110, BAR2 = 1 MiB prefetchable 64-bit memory,
#                           backed byte for byte by the host file $WCVM_SHM_FILE
#   device B  0000:00:04.0  edu 1234:11e8 (BAR0 1 MiB non-prefetchable 32-bit memory) or
#                           pci-testdev 1b36:0005 (BAR0 4 KiB non-prefetchable memory, BAR1 I/O)
#   device N  0000:00:05.0  with --virtio-net: virtio-net-pci 1af4:1041, modern only
#                           (disable-legacy=on) and behind the IOMMU (iommu_platform=on);
#                           BAR4 16 KiB prefetchable 64-bit (common cfg 0x0, ISR 0x1000,
#                           device cfg 0x2000, notify 0x3000), MSI-X in BAR1
#
# Host-check environment: WCVM_SHM_FILE, WCVM_PCAP (with --virtio-net), WCVM_CONSOLE_LOG (CR-stripped), WCVM_WORKDIR,
#   WCVM_KERNEL_DIR, WCVM_KVER.
# Other environment: WCBROKER_VM_CACHE, WCVM_QEMU (emulator binary), WCVM_VERBOSE=1 (stream
#   the console live to stderr), WCVM_KEEP=1, WCVM_TIMEOUT.
#
# Output: result lines on stdout, each "PASS|FAIL|SKIP: [KVER] text", then the summary line
#   "N passed, N failed, N skipped".  Logs on stderr.
# Exit codes: 0 all passed; 1 a FAIL, a non-zero scenario status, or the guest did not finish
#   (timeout, panic, no "WCVM-END"); 2 usage; 77 a required tool is missing, or the scenario
#   only skipped.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=kernels.sh
source "$WCVM_DIR/kernels.sh"

usage() {
    wcvm_usage "${BASH_SOURCE[0]}"
}

kernel="" scenario="" initrd="" workdir="" append="" devb=edu shm_init="" systemd=0 memory=256
pcap=""
timeout_s=${WCVM_TIMEOUT:-300}
build_args=() checks=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -k | --kernel) kernel=${2:?}; shift 2 ;;
        -s | --scenario) scenario=${2:?}; shift 2 ;;
        --systemd) systemd=1; shift ;;
        --memory) memory=${2:?}; shift 2 ;;
        --tree | --bin | --file | --env | --kmod | --lib) build_args+=("$1" "${2:?}"); shift 2 ;;
        --host-check) checks+=("${2:?}"); shift 2 ;;
        --initrd) initrd=${2:?}; shift 2 ;;
        --timeout) timeout_s=${2:?}; shift 2 ;;
        --append) append=${2:?}; shift 2 ;;
        --device-b) devb=${2:?}; shift 2 ;;
        --workdir) workdir=${2:?}; shift 2 ;;
        --shm-init) shm_init=${2:?}; shift 2 ;;
        --virtio-net) pcap=${2:?}; shift 2 ;;
        -h | --help) usage ;;
        *) echo "run-vm.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
[[ -n "$kernel" ]] || usage
case $devb in
    edu) devb_id=1234:11e8 ;;
    pci-testdev) devb_id=1b36:0005 ;;
    *) echo "run-vm.sh: --device-b must be edu or pci-testdev" >&2; exit 2 ;;
esac
[[ "$memory" =~ ^[0-9]+$ ]] || { echo "run-vm.sh: --memory wants MiB, got '$memory'" >&2; exit 2; }

qemu=${WCVM_QEMU:-qemu-system-x86_64}
wcvm_require_tools "$qemu" timeout truncate
for c in "${checks[@]}"; do
    [[ -x "$c" ]] || { echo "run-vm.sh: host check not executable: $c" >&2; exit 2; }
done

kdir=$(wcvm_kernel_fetch "$kernel")
# shellcheck disable=SC1091  # generated: defines KVER
source "$kdir/kernel.env"

if [[ -z "$workdir" ]]; then
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/wcvm-run.XXXXXX")
    cleanup_ok=${WCVM_KEEP:-0}
else
    mkdir -p "$workdir"
    cleanup_ok=1 # never delete a directory the caller chose
fi
workdir=$(cd "$workdir" && pwd)

if [[ -z "$initrd" ]]; then
    initrd="$workdir/initrd.gz"
    build=("$WCVM_DIR/build-initramfs.sh" -k "$kdir" -o "$initrd")
    [[ $systemd == 0 ]] || build+=(--systemd)
    [[ -z "$scenario" ]] || build+=(--scenario "$scenario")
    "${build[@]}" "${build_args[@]}"
elif [[ -n "$scenario" || ${#build_args[@]} -gt 0 ]]; then
    echo "run-vm.sh: --initrd excludes -s/--tree/--bin/--file/--env/--kmod/--lib" >&2
    exit 2
fi

# A fresh backing file per run, so the host check sees only what this guest wrote.
shm="$workdir/ivshmem.bin"
rm -f "$shm"
[[ -z "$shm_init" ]] || cp "$shm_init" "$shm"
truncate -s 1M "$shm"

iommu=intel-iommu
nic_args=()
if [[ -n "$pcap" ]]; then
    mkdir -p "$(dirname "$pcap")"
    pcap=$(cd "$(dirname "$pcap")" && pwd)/$(basename "$pcap")
    rm -f "$pcap"
    iommu=intel-iommu,intremap=on,aw-bits=48
    # User-mode networking cut off from the host (restrict=on): it takes every frame at once
    # (a hub port with no peer would not, and virtio-net stops sending at the first frame
    # nobody takes); queue=rx dumps only what the NIC sent, not what slirp answered.
    # shellcheck disable=SC2054  # the commas are QEMU option syntax
    nic_args=(
        -netdev user,id=wcvm-net,restrict=on
        -object "filter-dump,id=wcvm-dump,netdev=wcvm-net,queue=rx,file=$pcap"
        # romfile=: no iPXE option ROM (SeaBIOS would run it at every boot).
        -device virtio-net-pci,netdev=wcvm-net,disable-legacy=on,iommu_platform=on,addr=05.0,romfile=
    )
fi

# intel-iommu must precede the PCI devices it translates for.  Addresses are pinned so logs
# are comparable across runs; scenarios should still use WCVM_DEV_A/B from /init.
# shellcheck disable=SC2054  # the commas are QEMU option syntax
qemu_args=(
    -M q35 -accel tcg -cpu max -m "$memory" -smp 1
    -nodefaults -nographic -no-reboot
    # -nodefaults also drops the serial port -nographic would have put on stdio.
    -serial stdio
    -device "$iommu"
    -object "memory-backend-file,id=wcvm-shm,share=on,mem-path=$shm,size=1M"
    -device ivshmem-plain,memdev=wcvm-shm,addr=03.0
    -device "$devb,addr=04.0"
    "${nic_args[@]}"
    -kernel "$kdir/vmlinuz" -initrd "$initrd"
    # panic=-1: a guest panic reboots at once, and -no-reboot turns that into a QEMU exit,
    # instead of sitting until the timeout.
    -append "console=ttyS0 intel_iommu=on quiet panic=-1 wcvm.devb=$devb_id $append"
)

wcvm_log "booting $KVER ($(basename "$kdir"))$([[ $systemd == 0 ]] || echo ", systemd mode")$([[ -z $pcap ]] || echo ", virtio-net"), ${memory} MiB, timeout ${timeout_s}s, workdir $workdir"
start=$(date +%s.%N)
set +e
if [[ "${WCVM_VERBOSE:-0}" == 1 ]]; then
    timeout -k 5 "$timeout_s" "$qemu" "${qemu_args[@]}" </dev/null 2>"$workdir/qemu.stderr" |
        tee "$workdir/console.raw" >&2
else
    timeout -k 5 "$timeout_s" "$qemu" "${qemu_args[@]}" </dev/null 2>"$workdir/qemu.stderr" \
        >"$workdir/console.raw"
fi
qemu_rc=${PIPESTATUS[0]}
set -e
elapsed=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
# The serial line is a tty: CRLF line ends.
tr -d '\r' <"$workdir/console.raw" >"$workdir/console.log"
wcvm_log "$KVER: QEMU exited $qemu_rc after ${elapsed}s (boot to poweroff)"

results="$workdir/results.txt"
: >"$results"
add() { printf '%s: [%s] %s\n' "$1" "$KVER" "$2" >>"$results"; }
collect() { # prefix the kernel version into every result line of a stream
    sed -n -E "s/^(PASS|FAIL|SKIP): ?/\\1: [$KVER] /p" >>"$results"
}

collect <"$workdir/console.log"
finished=0
end_line=$(grep -a '^WCVM-END rc=' "$workdir/console.log" | tail -n1 || true)
if [[ -n "$end_line" ]]; then
    finished=1
    scen_rc=${end_line#WCVM-END rc=}
    [[ "$scen_rc" == 0 ]] || add FAIL "scenario exited with status $scen_rc"
elif [[ $qemu_rc == 124 || $qemu_rc == 137 ]]; then
    add FAIL "guest did not finish within ${timeout_s}s"
else
    add FAIL "guest did not finish (QEMU exit $qemu_rc; panic or early crash? see console.log)"
fi

if [[ $finished == 1 ]]; then
    for c in "${checks[@]}"; do
        set +e
        WCVM_SHM_FILE=$shm WCVM_PCAP=$pcap WCVM_CONSOLE_LOG="$workdir/console.log" WCVM_WORKDIR=$workdir \
            WCVM_KERNEL_DIR=$kdir WCVM_KVER=$KVER "$c" >"$workdir/check.out" 2>&1
        crc=$?
        set -e
        sed 's/^/host-check: /' "$workdir/check.out" >&2
        collect <"$workdir/check.out"
        [[ $crc == 0 ]] || add FAIL "host check $(basename "$c") exited $crc"
    done
fi

passed=$(grep -c '^PASS:' "$results" || true)
failed=$(grep -c '^FAIL:' "$results" || true)
skipped=$(grep -c '^SKIP:' "$results" || true)
if [[ $((passed + failed + skipped)) == 0 ]]; then
    add FAIL "the scenario printed no PASS:/FAIL:/SKIP: line"
    failed=1
fi

if [[ $failed != 0 ]]; then
    # The whole console is short and is what anyone debugging needs first.
    {
        echo "---- console ($workdir/console.log) ----"
        cat "$workdir/console.log"
        if [[ -s "$workdir/qemu.stderr" ]]; then
            echo "---- qemu stderr ----"
            cat "$workdir/qemu.stderr"
        fi
        echo "----"
    } >&2
    cleanup_ok=1
fi
cat "$results"
echo "$KVER: boot to poweroff ${elapsed}s" >&2
echo "$passed passed, $failed failed, $skipped skipped"
if [[ $cleanup_ok == 0 ]]; then
    rm -rf "$workdir"
else
    wcvm_log "kept $workdir"
fi

[[ $failed == 0 ]] || exit 1
[[ $passed != 0 ]] || exit "$WCVM_EXIT_SKIP"
exit 0
