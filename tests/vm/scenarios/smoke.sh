#!/bin/sh
# Guest side of the harness smoke test: proves, with no project code, every piece a wcbroker
# test will lean on.  Run by /init as root (busybox sh); see run-smoke.sh for the host side.
#   1. BAR facts: A's BAR2 is prefetchable and has resource2_wc; B's BARs are not and do not.
#   2. D-Bus system bus works for root and uid 1000, and a policy dropped into system.d applies.
#   3. Binding A to vfio-pci (driver_override + drivers_probe) shows up in `udevadm monitor`,
#      and a rule dropped into /etc/udev/rules.d ran (GROUP=wcuc on /dev/vfio/N, ENV on bind).
#   4. resource2_wc opened by root, mapped and written by uid 1000 (fd inherited across the
#      privilege drop, as with SCM_RIGHTS); PAT memtype list says write-combining while mapped.
#   5. Root maps it too; wc-poke prints its own memtype lines.
# "WCVM-SMOKE-PATTERN ..." lines tell the host check where to find the written bytes.
set -u
# shellcheck source-path=SCRIPTDIR source=../guest/checks.sh
. /usr/libexec/wcbroker-vm/checks.sh

A=${WCVM_DEV_A:-}
B=${WCVM_DEV_B:-}
IORESOURCE_IO=0x100
IORESOURCE_MEM=0x200
IORESOURCE_PREFETCH=0x2000
IORESOURCE_MEM_64=0x100000

if [ -z "$A" ]; then
    fail "device A (ivshmem 1af4:1110) not found"
    exit 1
fi
pass "device A ivshmem $(cat "$SYS/$A/vendor"):$(cat "$SYS/$A/device") at $A"
if [ -n "$B" ]; then
    pass "device B $(cat "$SYS/$B/vendor"):$(cat "$SYS/$B/device") at $B"
else
    fail "device B not found"
fi

# --- 1. BAR facts -------------------------------------------------------------------------

# bar_line DEV N : "start end flags" of BAR N from the sysfs resource file.
bar_line() { sed -n "$(($2 + 1))p" "$SYS/$1/resource"; }
describe_flags() {
    f=$1 s=""
    [ $((f & IORESOURCE_MEM)) != 0 ] && s="mem"
    [ $((f & IORESOURCE_IO)) != 0 ] && s="io"
    if [ "$s" = mem ]; then
        if [ $((f & IORESOURCE_PREFETCH)) != 0 ]; then s="$s prefetchable"; else s="$s non-prefetchable"; fi
        if [ $((f & IORESOURCE_MEM_64)) != 0 ]; then s="$s 64-bit"; else s="$s 32-bit"; fi
    fi
    echo "$s"
}

read -r a_start a_end a_flags <<EOF
$(bar_line "$A" 2)
EOF
info "A BAR2 $a_start-$a_end flags $a_flags ($(describe_flags "$a_flags"))"
check "A BAR2 is prefetchable memory" [ $((a_flags & (IORESOURCE_MEM | IORESOURCE_PREFETCH))) = $((IORESOURCE_MEM | IORESOURCE_PREFETCH)) ]
check "A has resource2_wc" [ -e "$SYS/$A/resource2_wc" ]
check "A BAR2 is 1 MiB (the host backing file)" [ $((a_end - a_start + 1)) = 1048576 ]

if [ -n "$B" ]; then
    b_mem=0 b_pref=0 i=0
    while [ $i -le 5 ]; do
        read -r s e f <<EOF
$(bar_line "$B" $i)
EOF
        if [ $((f)) != 0 ]; then
            info "B BAR$i $s-$e flags $f ($(describe_flags "$f"))"
            if [ $((f & IORESOURCE_MEM)) != 0 ]; then
                b_mem=$((b_mem + 1))
                [ $((f & IORESOURCE_PREFETCH)) = 0 ] || b_pref=$((b_pref + 1))
            fi
        fi
        i=$((i + 1))
    done
    check "B has a memory BAR" [ "$b_mem" -gt 0 ]
    check "B has no prefetchable BAR" [ "$b_pref" = 0 ]
    b_wc=""
    for f in "$SYS/$B"/resource*_wc; do
        [ ! -e "$f" ] || b_wc="$b_wc ${f##*/}"
    done
    check "B has no resourceN_wc file${b_wc:+ (found: $b_wc)}" [ -z "$b_wc" ]
    check "B keeps its UC resource0 file" [ -e "$SYS/$B/resource0" ]
fi

# --- 2. D-Bus -----------------------------------------------------------------------------

bus_call() { # bus_call UID METHOD : call the bus driver as UID, print the reply or error
    setids "$1" "$1" -- dbus-send --system --print-reply --dest=org.freedesktop.DBus \
        /org/freedesktop/DBus "org.freedesktop.DBus.$2" 2>&1
}
out=$(bus_call 0 GetId)
check "system bus answers root (GetId)" sh -c "echo '$out' | grep -q string"
out=$(bus_call 1000 ListNames)
check "system bus answers uid 1000 (ListNames)" sh -c "echo '$out' | grep -q org.freedesktop.DBus"
# smoke-bus.conf (installed in /etc/dbus-1/system.d) denies ListNames to bob only.
out=$(bus_call 1001 ListNames)
if echo "$out" | grep -q AccessDenied; then
    pass "bus policy drop-in applies (uid 1001 ListNames: AccessDenied)"
else
    fail "bus policy drop-in not applied: uid 1001 ListNames gave: $out"
fi

# --- 3. vfio-pci bind seen by udev ---------------------------------------------------------

udevadm monitor --kernel --udev --property --subsystem-match=pci --subsystem-match=vfio \
    >/tmp/udev-monitor.log 2>&1 &
mon=$!
# The header lines are printed once the netlink sockets are bound.
n=0
while ! grep -q '^UDEV - ' /tmp/udev-monitor.log && [ $n -lt 50 ]; do
    sleep 0.1
    n=$((n + 1))
done
drv=$(driver_of "$A")
info "A driver before bind: ${drv:-none}"
bind_vfio "$A"
udevadm settle --timeout=20
sleep 0.3 # let the monitor print the last event
kill "$mon" 2>/dev/null
wait "$mon" 2>/dev/null
sed 's/^/udev-monitor: /' /tmp/udev-monitor.log

drv=$(driver_of "$A")
check "A bound to vfio-pci (driver_override + drivers_probe)" [ "$drv" = vfio-pci ]
check "udev monitor saw the UDEV bind event" grep -q "^UDEV .* bind .*$A (pci)" /tmp/udev-monitor.log
check "udev monitor saw DRIVER=vfio-pci" grep -q '^DRIVER=vfio-pci$' /tmp/udev-monitor.log
check "udev monitor saw the vfio group add" grep -q '^UDEV .* add .*/vfio/[0-9]* (vfio)' /tmp/udev-monitor.log

group=$(basename "$(readlink "$SYS/$A/iommu_group")")
node=/dev/vfio/$group
if [ -c "$node" ]; then
    info "$(ls -l "$node")"
    check "udev rule gave $node group wcuc mode 0660" \
        [ "$(stat -c '%G %a' "$node")" = "wcuc 660" ]
else
    fail "no $node after bind"
fi
check "udev rule set ENV on the bind event (udev db)" \
    sh -c "udevadm info -q property -p '$SYS/$A' | grep -qx WCVM_SMOKE=bound"
grep -i "$(echo "${a_start#0x}" | sed 's/^0*//')" /proc/iomem | sed 's/^/iomem: /'

# --- 4. WC mapping by uid 1000 of an fd root opened ------------------------------------------

# memtype_lines START END : PAT entries overlapping [START, END] (both list formats).
memtype_lines() {
    lo=$(($1)) hi=$(($2))
    while read -r line; do
        r=$(echo "$line" | sed -n 's/.*\(0x[0-9a-fA-F]*\)-\(0x[0-9a-fA-F]*\).*/\1 \2/p')
        [ -n "$r" ] || continue
        read -r s e <<EOF
$r
EOF
        [ $((s)) -le "$hi" ] && [ $((e)) -gt "$lo" ] && echo "$line"
    done </sys/kernel/debug/x86/pat_memtype_list
    return 0
}

wc=$SYS/$A/resource2_wc
out=$(setids 1000 1000,2000 -- wc-poke -p "$wc" -n 16 2>&1)
if echo "$out" | grep -q 'Permission denied'; then
    pass "uid 1000 cannot open resource2_wc itself (mode $(stat -c %a "$wc"))"
else
    fail "uid 1000 opening resource2_wc: $out"
fi

off1=0x1000 len1=0x10000 seed1=0x5eed
echo "WCVM-SMOKE-PATTERN offset=$off1 length=$len1 seed=$seed1 who=uid1000"
rm -f /tmp/hold /tmp/poke.out
mkfifo /tmp/hold
# The root shell opens the sysfs file (fd 3) and only then drops privileges: what wcbrokerd
# does before sending the fd over D-Bus.  stdin is a FIFO whose EOF releases the mapping.
(exec setids 1000 1000,2000 -- wc-poke -f 3 -o "$off1" -n "$len1" -s "$seed1" -w \
    3<>"$wc" </tmp/hold >/tmp/poke.out 2>&1) &
poke=$!
exec 4>/tmp/hold
n=0
while ! grep -q 'holding' /tmp/poke.out && [ $n -lt 100 ]; do
    sleep 0.1
    n=$((n + 1))
done
held=$(memtype_lines "$a_start" "$a_end")
echo "$held" | sed 's/^/pat_memtype_list: /'
exec 4>&-
wait "$poke"
poke_rc=$?
sed 's/^/uid1000: /' /tmp/poke.out
ok=0
[ "$poke_rc" = 0 ] && grep -q 'as uid 1000 ' /tmp/poke.out && ok=1
check "uid 1000 mapped resource2_wc via root's fd and read back its pattern" [ "$ok" = 1 ]
check "memtype of the uid 1000 mapping is write-combining" \
    sh -c "echo '$held' | grep -q 'write-combining'"
check "no uncached-minus entry over A's BAR2 while mapped" \
    sh -c "! echo '$held' | grep -q 'uncached'"
after=$(memtype_lines "$a_start" "$a_end")
check "memtype entry gone after unmap" [ -z "$after" ]

# --- 5. root maps it too; wc-poke reads the memtype list itself -----------------------------

off2=0x80000 len2=0x1000 seed2=7
echo "WCVM-SMOKE-PATTERN offset=$off2 length=$len2 seed=$seed2 who=root"
wc-poke -p "$wc" -o "$off2" -n "$len2" -s "$seed2" -t >/tmp/poke2.out 2>&1
poke_rc=$?
sed 's/^/root: /' /tmp/poke2.out
ok=0
[ "$poke_rc" = 0 ] && grep -q 'memtype: .*write-combining' /tmp/poke2.out && ok=1
check "root wc-poke reports a write-combining memtype entry" [ "$ok" = 1 ]

info "smoke done on $(uname -r), $failures failure(s)"
[ "$failures" = 0 ]
