#!/bin/sh
# Issue 14's proof: Debian's own dpdk-testpmd drives a virtio-net NIC bound
# to vfio-pci, as an unprivileged uid, first as it is, then through the
# LD_PRELOAD shim (libwcbroker-preload.so) that gets BAR4 from wcbrokerd:
# the notify page write-combining, the rest uncached. Every run sends a
# burst ("start tx_first", "stop") and prints "WCVM-DPDK-TX run=NAME
# packets=N": the host check (dpdk-host.sh) counts the frames QEMU dumped.
#
# Environment (run-dpdk.sh): WCVM_DPDK_PLUGINS (the PMD plugins' guest
# paths, for -d), WCVM_SHIM (the shim's guest path; empty: the shim's checks
# SKIP), WCVM_WCALIAS=1 (the wcalias module is installed), WCVM_DPDK_RUNS
# (start-up timings per side, default 3).
# shellcheck disable=SC2086 # $WRAP, the argument lists and the timings are word lists
set -u
# shellcheck source-path=SCRIPTDIR source=../guest/checks.sh
. /usr/libexec/wcbroker-vm/checks.sh

SHIM=${WCVM_SHIM:-}
RUNS=${WCVM_DPDK_RUNS:-3}
LOG=/tmp/wcbrokerd.log
POLICY=/etc/wcbroker/policy.toml
TESTER=1000

# --- helpers ---------------------------------------------------------------------------

# The NIC by vendor:device (virtio 1.0 net), not by slot.
find_nic() {
    for d in "$SYS"/*; do
        if [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1af4:0x1041 ]; then
            basename "$d"
            return 0
        fi
    done
}
# Hundredths of a second since boot.
now_cs() { sed 's/^\([0-9]*\)\.\([0-9]*\) .*/\1\2/' /proc/uptime; }
# Who holds BAR4: the name of the /proc/iomem entry nested right under the
# BAR's own (named after the device); nothing when none is.
bar4_holder() {
    awk -v start="$(printf '%x' $((bar4)))" -v dev="$NIC" '
        bar { match($0, /^ */); if (RLENGTH > indent) { sub(/^[^:]*: /, ""); print } exit }
        $0 ~ "^ *" start "-[0-9a-f]+ : " dev "$" { bar = 1; match($0, /^ */); indent = RLENGTH }
    ' /proc/iomem
}
# Every PAT memtype list line inside BAR4, as "START END TYPE", offsets from the BAR.
pat_in_bar4() {
    sed -n 's/^PAT: \[mem 0x\([0-9a-f]*\)-0x\([0-9a-f]*\)\] \(.*\)$/\1 \2 \3/p' /sys/kernel/debug/x86/pat_memtype_list |
        while read -r s e type; do
            if [ $((0x$s)) -ge $((bar4)) ] && [ $((0x$e)) -le $((bar4 + bar4_size)) ]; then
                printf '%#x %#x %s\n' $((0x$s - bar4)) $((0x$e - bar4)) "$type"
            fi
        done
}
indent() { sed 's/^/   | /'; }
use_policy() {
    printf '%s\n' "$1" >"$POLICY"
    wcbrokerctl reload
}

# The policy of the issue: BAR4's notify page (0x3000) write-combining, the
# common, ISR and device config pages before it uncached, for the tester.
POLICY_GRANT='version = 1

[selector.virtio-net]
vendor = 0x1af4
device = 0x1041

[[rule]]
name = "testpmd-notify-wc"
devices = ["virtio-net"]
bar = 4
ranges = [ { offset = 0x3000, length = 0x1000 } ]
access = "write-combine"
users = [1000]

[[rule]]
name = "testpmd-config-uc"
devices = ["virtio-net"]
bar = 4
ranges = [ { offset = 0, length = 0x3000 } ]
access = "uncached"
users = [1000]'
# No rule at all: no lease, and no wcalias claim (the runs without the shim).
POLICY_NONE='version = 1'
# Nothing for the tester (bob may have the notify page: the tester is refused).
POLICY_NOTHING='version = 1

[selector.virtio-net]
vendor = 0x1af4
device = 0x1041

[[rule]]
name = "bob-only"
devices = ["virtio-net"]
bar = 4
ranges = [ { offset = 0x3000, length = 0x1000 } ]
access = "write-combine"
users = [1001]'

# testpmd NAME HOOK [WRAPPER...]: one testpmd as the tester, in interactive
# mode on a FIFO: waits for its prompt (the start-up time, printed as
# "WCVM-DPDK-STARTUP run=NAME seconds=S"), runs the shell function HOOK
# while testpmd holds the device, then "start tx_first", "stop", "quit".
# Sets startup_s, tx (the TX-packets of port 0, empty if none), testpmd_rc.
# Output in /tmp/NAME.out, stderr in /tmp/NAME.err.
testpmd() {
    name=$1 hook=$2
    shift 2
    out=/tmp/$name.out err=/tmp/$name.err fifo=/tmp/$name.in
    rm -f "$fifo" "$out" "$err"
    mkfifo "$fifo"
    chown $TESTER "$fifo"
    startup_s="" tx="" testpmd_rc="" t1="" th="" t2=""
    t0=$(now_cs)
    setids $TESTER $TESTER -- "$@" dpdk-testpmd $EAL_ARGS -- $APP_ARGS <"$fifo" >"$out" 2>"$err" &
    pid=$!
    exec 8>"$fifo"
    wait_until 1200 sh -c "grep -q 'testpmd> ' $out || ! kill -0 $pid"
    if grep -q 'testpmd> ' "$out"; then
        t1=$(now_cs)
        startup_s=$(echo "$t0 $t1" | awk '{printf "%.2f", ($2 - $1) / 100}')
        echo "WCVM-DPDK-STARTUP run=$name seconds=$startup_s"
        [ "$hook" = - ] || "$hook"
        th=$(now_cs)
        echo "start tx_first" >&8
        sleep 2
        # testpmd's statistics are stdio, block-buffered into a file until it
        # exits; it reads one command after the other, so quit follows stop.
        echo "stop" >&8
        t2=$(now_cs)
        echo "quit" >&8
    fi
    exec 8>&-
    if ! wait_until 600 sh -c "! kill -0 $pid"; then
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid"
    testpmd_rc=$?
    t3=$(now_cs)
    tx=$(sed -n 's/^ *TX-packets: *\([0-9]*\).*/\1/p' "$out" | head -n1)
    # Where the run's time went: the checks, the traffic (2 s), stop and
    # quit (statistics, port close, VFIO and memory teardown), the whole.
    echo "WCVM-DPDK-TX run=$name packets=${tx:-0} $(echo "$t0 ${t1:-$t3} ${th:-$t3} ${t2:-$t3} $t3" |
        awk '{printf "checks_s=%.1f traffic_s=%.1f quit_s=%.1f run_s=%.1f", ($3 - $2) / 100, ($4 - $3) / 100, ($5 - $4) / 100, ($5 - $1) / 100}')"
}
# show NAME: the run's output, for a failed check.
show_run() {
    echo "   --- $1: stdout (tail)"
    tail -n 25 "/tmp/$1.out" | indent
    echo "   --- $1: stderr"
    tail -n 25 "/tmp/$1.err" | indent
}
# passed_traffic NAME DESCRIPTION
passed_traffic() {
    if [ -n "$startup_s" ] && [ "${tx:-0}" -gt 0 ] && [ "$testpmd_rc" = 0 ]; then
        pass "$2: testpmd started (${startup_s} s), sent $tx packets, quit with status 0"
    else
        fail "$2: testpmd started, sent packets and quit with status 0 (start-up ${startup_s:-none}, TX ${tx:-none}, status $testpmd_rc)"
        show_run "$1"
    fi
}
# timed_run_ok NAME DESCRIPTION: a timing run fails only if it did not work.
timed_run_ok() {
    if [ -z "$startup_s" ] || [ "${tx:-0}" = 0 ]; then
        fail "$2: testpmd started and sent packets"
        show_run "$1"
    fi
}
# no_bar4_fallback NAME: BAR4 came from wcbrokerd. (The policy grants no
# other BAR: the shim leaves BAR1, MSI-X, to VFIO and says so.)
no_bar4_fallback() {
    check "the shim did not fall back for BAR4" sh -c "! grep -q 'wcbroker-preload: $NIC BAR4:' /tmp/$1.err"
}
# The shim's lines on testpmd's standard error.
shim_lines() { grep -c 'wcbroker-preload:' "/tmp/$1.err"; }
# median of the numbers on standard input
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Hooks: what is checked while testpmd holds the device.
hook_plain() {
    say "kernel: /proc/iomem under BAR4: $(bar4_holder)"
    case $(bar4_holder) in
        vfio | vfio-pci) pass "without the shim, vfio holds BAR4 in /proc/iomem ($(bar4_holder))" ;;
        *) fail "without the shim, vfio holds BAR4 in /proc/iomem (holder: '$(bar4_holder)')" ;;
    esac
    wcbrokerctl list-leases >/tmp/leases.txt 2>&1
    check "without the shim, no lease exists" sh -c "! grep -q '^ *[0-9]' /tmp/leases.txt && ! grep -qi 'bar 4\|bar=4' /tmp/leases.txt"
    indent </tmp/leases.txt
}
hook_shim() {
    tpid=$(pidof dpdk-testpmd)
    wcbrokerctl list-leases >/tmp/leases.txt 2>&1
    indent </tmp/leases.txt
    check "wcbrokerctl list-leases shows the tester's BAR4 leases: [0, 12K) uncached, [0x3000, +4K) write-combine" \
        sh -c "grep -q '$NIC *4 *\[0x0, +12KiB) *uncached *uncached-minus *$TESTER ' /tmp/leases.txt &&
               grep -q '$NIC *4 *\[0x3000, +4KiB) *write-combine *write-combining *$TESTER ' /tmp/leases.txt"
    # list-leases names the owner's bus connection; the audit record of each
    # grant names its process and the shim's label.
    grep "kind=acquire-granted .* pid=$tpid .*device=$NIC bar=4 " "$LOG" >/tmp/granted.txt
    check "wcbrokerd granted both to testpmd's process (pid $tpid, label preload:dpdk-testpmd[$tpid])" \
        sh -c "[ \$(grep -c 'label=preload:dpdk-testpmd\[$tpid\]' /tmp/granted.txt) = 2 ]"
    pat_in_bar4 >/tmp/pat.txt
    indent </tmp/pat.txt
    check "the PAT list has the notify page [0x3000, 0x4000) of BAR4 write-combining" \
        grep -qx '0x3000 0x4000 write-combining' /tmp/pat.txt
    check "the PAT list has the rest of BAR4 [0, 0x3000) uncached-minus, nothing else" \
        sh -c "! grep -v '^0x3000 0x4000 write-combining\$' /tmp/pat.txt | grep -v ' uncached-minus\$' | grep -q . &&
               grep -q '^0 .*uncached-minus\$\|^0x0 .*uncached-minus\$' /tmp/pat.txt"
    say "kernel: /proc/iomem under BAR4: $(bar4_holder)"
    case $(bar4_holder) in
        vfio | vfio-pci) fail "with the shim, no vfio claim on BAR4 in /proc/iomem (holder: $(bar4_holder))" ;;
        *) pass "with the shim, no vfio claim on BAR4 in /proc/iomem (holder: '$(bar4_holder)')" ;;
    esac
}

# --- set-up ------------------------------------------------------------------------------
mkdir -p /etc/wcbroker
step "Set-up: the virtio-net NIC to vfio-pci, its group to uid $TESTER, hugepages"
NIC=$(find_nic)
if [ -z "$NIC" ]; then
    fail "the guest has the virtio-net NIC (1af4:1041)"
    exit 1
fi
pass "the guest has the virtio-net NIC (1af4:1041) at $NIC"
check "dpdk-testpmd is installed" command -v dpdk-testpmd
check "the CPU has SSE4.2 (DPDK's baseline)" grep -qw sse4_2 /proc/cpuinfo
bar4=$(bar_start "$NIC" 4)
bar4_end=$(sed -n 5p "$SYS/$NIC/resource" | cut -d' ' -f2)
bar4_size=$((bar4_end - bar4 + 1))
say "BAR4 at $(printf '%#x' $((bar4))), $((bar4_size / 1024)) KiB, flags $(sed -n 5p "$SYS/$NIC/resource" | cut -d' ' -f3)"
check "BAR4 is 16 KiB of prefetchable memory" [ $((bar4_size)) = 16384 ]
# Trixie's kernels build virtio-pci in, and it takes the NIC at boot.
was=$(driver_of "$NIC")
[ -z "$was" ] || echo "$NIC" >"$SYS/$NIC/driver/unbind"
bind_vfio "$NIC"
check "the NIC is bound to vfio-pci (was: ${was:-no driver})" wait_for sh -c "[ \"\$(basename \"\$(readlink $SYS/$NIC/driver)\")\" = vfio-pci ]"
group=$(basename "$(readlink "$SYS/$NIC/iommu_group")")
check "/dev/vfio/$group appeared" wait_for test -c "/dev/vfio/$group"
chown $TESTER:$TESTER "/dev/vfio/$group"
say "/dev/vfio/$group: $(stat -c '%U %a' "/dev/vfio/$group"); /dev/vfio/vfio: $(stat -c '%a' /dev/vfio/vfio)"
# The tester's pinned DMA memory counts against its RLIMIT_MEMLOCK; setids
# keeps the limit root raised here.
# shellcheck disable=SC3045 # busybox ash has ulimit -l
ulimit -l unlimited
# The EAL refuses plugin paths below a world-writable directory, and the
# initramfs' root is 0777 (a real root is 0755).
chmod 0755 /
echo 64 >/proc/sys/vm/nr_hugepages
hugepages=$(cat /proc/sys/vm/nr_hugepages)
PLUGIN_ARGS=""
for p in ${WCVM_DPDK_PLUGINS:-}; do PLUGIN_ARGS="$PLUGIN_ARGS -d $p"; done
# Two lcores on the one vCPU: testpmd wants a forwarding core besides its main one.
if [ "$hugepages" -ge 32 ]; then
    MEM_ARGS="--in-memory"
    say "$hugepages hugepages of 2 MiB; --in-memory"
else
    MEM_ARGS="--in-memory --no-huge -m 128"
    say "no hugepages ($hugepages); --in-memory --no-huge"
fi
EAL_ARGS="--lcores=0@0,1@0 -n 1 $MEM_ARGS --iova-mode=va -a $NIC $PLUGIN_ARGS --log-level=lib.eal:notice"
APP_ARGS="-i --no-mlockall --total-num-mbufs=2048 --rxd=256 --txd=256"
say "dpdk-testpmd $EAL_ARGS -- $APP_ARGS"

check "wcbrokerd policy: BAR4 notify page WC, the rest UC, for uid $TESTER" sh -c "printf '%s\n' '$POLICY_GRANT' >$POLICY"
wcbrokerd --log-level info 2>"$LOG" &
daemon=$!
check "wcbrokerd serves the NIC" wait_for served "$NIC"

# --- 1 -----------------------------------------------------------------------------------
step "1. testpmd without the shim: vfio maps BAR4, no lease; start tx_first, stop"
testpmd plain hook_plain
passed_traffic plain "without the shim"
plain_times=$startup_s

# --- 2, 3, 4: the shim ----------------------------------------------------------------------
if [ -z "$SHIM" ]; then
    skip_all() { echo "SKIP: shim not built: $1"; }
    skip_all "with the shim, testpmd's BAR4 leases, PAT types, no vfio claim, traffic"
    skip_all "a policy that grants nothing: one fallback line, traffic"
    skip_all "start-up time with the shim"
    [ "${WCVM_WCALIAS:-0}" = 0 ] || skip_all "through the wcalias module"
else
    # wcbrokerctl exec sets LD_PRELOAD to the shim; the shim talks to wcbrokerd.
    WRAP="wcbrokerctl exec --preload $SHIM --"
    major=$(uname -r | cut -d. -f1)
    step "2. testpmd through the shim, sysfs leases (no wcalias module)"
    testpmd shim_sysfs "$([ "$major" -ge 7 ] && echo - || echo hook_shim)" $WRAP
    sed -n '/wcbroker-preload:/p' /tmp/shim_sysfs.err | indent
    if [ "$major" -ge 7 ]; then
        # 7.x vfio-pci claims every BAR at open (kernel-facts 3b): a sysfs lease
        # would be revoked under testpmd, so wcbrokerd must refuse, and say why.
        check "on $major.x without the module, the shim falls back for BAR4 and the line names why" \
            sh -c "grep 'wcbroker-preload: $NIC BAR4: falling back' /tmp/shim_sysfs.err | grep -qi 'wcalias\|module\|vfio'"
        passed_traffic shim_sysfs "on $major.x without the module, through the fallback"
    else
        no_bar4_fallback shim_sysfs
        passed_traffic shim_sysfs "with the shim"
    fi
    # Timed with the shim: the last path that got leases (the module's, when it is there).
    shim_times=""
    [ "$major" -ge 7 ] || shim_times=$startup_s

    step "3. A policy that grants nothing: the shim falls back once, testpmd still passes traffic"
    check "the policy without the tester's grants reloads" use_policy "$POLICY_NOTHING"
    testpmd shim_nothing - $WRAP
    grep 'wcbroker-preload:' /tmp/shim_nothing.err | indent
    check "the shim printed exactly one fallback line" [ "$(shim_lines shim_nothing)" = 1 ]
    passed_traffic shim_nothing "with a policy that grants nothing, through the fallback"
    use_policy "$POLICY_GRANT"

    if [ "${WCVM_WCALIAS:-0}" = 1 ]; then
        step "4. testpmd through the shim, wcalias leases"
        kill -TERM $daemon
        wait $daemon
        check "modprobe wcalias" modprobe wcalias
        wcbrokerd --log-level info 2>>"$LOG" &
        daemon=$!
        check "wcbrokerd serves the NIC with the module" wait_for served "$NIC"
        testpmd shim_wcalias hook_shim $WRAP
        sed -n '/wcbroker-preload:/p' /tmp/shim_wcalias.err | indent
        no_bar4_fallback shim_wcalias
        passed_traffic shim_wcalias "with the shim, through the module"
        shim_times=$startup_s
    fi

    # Alternating, so that a change in the shared host's load during the
    # boot falls on both sides alike (timed in blocks, one side after the
    # other, the ratio swung by 2x on one kernel). The runs without the shim
    # go under a policy with no rule: wcbrokerd lets go of its wcalias claim
    # on BAR4, which vfio would otherwise find busy.
    step "5. Start-up times, alternating: without the shim, then with it"
    run_no=1
    while [ "$run_no" -lt "$RUNS" ]; do
        use_policy "$POLICY_NONE" >/dev/null
        testpmd "plain$run_no" -
        timed_run_ok "plain$run_no" "without the shim, run $run_no"
        plain_times="$plain_times $startup_s"
        use_policy "$POLICY_GRANT" >/dev/null
        testpmd "shim$run_no" - $WRAP
        timed_run_ok "shim$run_no" "with the shim, run $run_no"
        shim_times="$shim_times $startup_s"
        run_no=$((run_no + 1))
    done
    plain_median=$(printf '%s\n' $plain_times | median)
    say "start-up without the shim: $plain_times s (median $plain_median)"
    shim_median=$(printf '%s\n' $shim_times | median)
    say "start-up with the shim: $shim_times s (median $shim_median)"
    echo "WCVM-DPDK-STARTUP-MEDIAN plain=$plain_median shim=$shim_median ratio=$(echo "$plain_median $shim_median" | awk '{printf "%.2f", $2 / $1}')"
fi

step "Nothing is left behind"
check "no lease is left once testpmd quit" sh -c "wcbrokerctl list-leases 2>&1 | grep -q 'No leases'"
kill -TERM $daemon
wait $daemon
check "wcbrokerd exited with status 0 on SIGTERM" [ $? = 0 ]
check "no testpmd is left" sh -c "! pidof dpdk-testpmd"
check "no PAT entry is left in BAR4" [ -z "$(pat_in_bar4)" ]
echo
echo "== wcbrokerd's log (last 10 lines):"
tail -10 "$LOG" | indent
[ $failures = 0 ]
