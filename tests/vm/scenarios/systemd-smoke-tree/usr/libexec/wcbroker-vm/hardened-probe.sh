#!/bin/sh
# Runs as wcvm-hardened.service (systemd-smoke.sh): tries what its sandbox must forbid and
# records one NAME=RESULT line per try, in $RUNTIME_DIRECTORY/probe (written whole, then
# renamed, so a reader never sees half) and on stdout (the journal).  Then it stays, as
# `sleep`, so that its /proc/PID/status can be read.
set -u
dir=${RUNTIME_DIRECTORY:-/run/wcvm-hardened}

# ProtectSystem=strict: / and /usr read-only, even for root with CAP_SYS_ADMIN.
usr=writable
touch /usr/wcvm-hardened-probe 2>/dev/null || usr=read-only
etc=writable
touch /etc/wcvm-hardened-probe 2>/dev/null || etc=read-only
# ProtectKernelTunables=: /proc/sys read-only.  Writes the current value back, so a missing
# sandbox changes nothing.
sysctl=writable
v=$(cat /proc/sys/kernel/domainname)
(echo "$v" >/proc/sys/kernel/domainname) 2>/dev/null || sysctl=read-only
# PrivateDevices=: a minimal /dev without /dev/mem.
devmem=absent
[ ! -e /dev/mem ] || devmem=present
# PrivateTmp=: the scenario left a marker in the real /tmp.
tmp=private
[ ! -e /tmp/wcvm-host-tmp-marker ] || tmp=shared
# SystemCallFilter=@system-service has no mount(2): the child dies of SIGSYS (128 + 31).
# (On a directory of its own, in case there were no sandbox at all.)
mkdir -p "$dir/mnt"
(mount -t tmpfs wcvm-probe "$dir/mnt" 2>/dev/null)
mountrc=$?

{
    echo "usr=$usr"
    echo "etc=$etc"
    echo "proc-sys=$sysctl"
    echo "dev-mem=$devmem"
    echo "tmp=$tmp"
    echo "mount-status=$mountrc"
} >"$dir/probe.tmp"
mv "$dir/probe.tmp" "$dir/probe"
sed 's/^/probe: /' "$dir/probe"
exec sleep 600
