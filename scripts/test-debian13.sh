#!/bin/bash
# Builds wcbroker on Debian 13 ("trixie": sdbus-c++ 2, toml++ 3.4, gcc 14,
# dbus 1.16) and runs every suite that does not boot QEMU there, in a root
# made with mmdebstrap from Debian's archive and cached by
# scripts/debian13-root.sh (/var/cache/wcbroker-trixie, made again when its
# package list changes); this script mounts what it needs in a mount
# namespace of its own, so nothing stays mounted when it ends. The tests
# start their own dbus-daemon, the root's.
#
# Usage: scripts/test-debian13.sh     (as root)
# Prints the build directory on the host, for scripts/test-summary.py, as
# its last line; exits non-zero when a test failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "test-debian13: needs root (mmdebstrap, chroot)" >&2
    exit 1
fi
root=$(scripts/debian13-root.sh)
# Held shared while the root is in use: debian13-root.sh replaces it only
# under the exclusive lock.
exec {lock}>"$(dirname "$root")/.lock"
flock -s "$lock"

# The tree as git has it (untracked files included, ignored ones not), so
# that the build there is of exactly this checkout.
rm -rf --one-file-system "$root/src"
mkdir -p "$root/src"
git ls-files -z --cached --others --exclude-standard |
    tar --null --files-from=- --create --file=- | tar --extract --file=- --directory="$root/src"

status=0
# shellcheck disable=SC2016  # expanded by the inner shells
unshare --mount --propagation private sh -c '
    root=$1
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mount -t tmpfs tmpfs "$root/tmp"
    mount -t tmpfs tmpfs "$root/run"
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 CI="${CI:-}" sh -c "
        set -e
        cd /src
        meson setup build --prefix=/usr -Dvm_tests=disabled >/dev/null
        ninja -C build
        meson test -C build --print-errorlogs --num-processes 2
    "
' sh "$root" >&2 || status=1
echo "$root/src/build"
exit $status
