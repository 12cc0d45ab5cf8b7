#!/bin/bash
# Makes (once) and prints the cached Debian 13 ("trixie") root that
# scripts/test-debian13.sh builds and tests wcbroker in,
# scripts/build-debs.sh --debian13 builds the packages in, and
# tests/vm/build-kmod.sh builds the wcalias module in for trixie kernels
# (gcc 14, trixie's libc for linux-kbuild's programs). Made with mmdebstrap
# from Debian's archive under /var/cache/wcbroker-trixie
# (WCBROKER_TRIXIE_CACHE), and made again when the package list below
# changes. Under an exclusive lock (cache/.lock): callers that use the root
# hold it shared (flock -s) so that it is not replaced under them.
#
# Usage: scripts/debian13-root.sh    (as root; prints the root's path)
# Never mount anything below the cache outside a private mount namespace:
# the root is deleted with rm -rf when it is made again.
set -euo pipefail

cache=${WCBROKER_TRIXIE_CACHE:-/var/cache/wcbroker-trixie}
root=$cache/root
packages=(
    g++ meson ninja-build pkg-config python3 ccache git
    libtomlplusplus-dev libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev libudev-dev
    libgtest-dev libgmock-dev systemd systemd-dev udev
    dbus dbus-daemon dbus-bin umockdev libumockdev-dev
    shellcheck groff-base man-db
    # the kernel module build (tests/vm/build-kmod.sh); gcc-14 comes with g++
    make libelf1t64 libssl3t64 pahole
    # the packages (scripts/build-debs.sh): debian/control's Build-Depends, lintian
    build-essential debhelper dh-dkms lintian
)
stamp=$(printf '%s\n' "${packages[@]}" | sha256sum | cut -c1-16)

if [ "$(id -u)" -ne 0 ]; then
    echo "debian13-root: needs root (mmdebstrap)" >&2
    exit 1
fi
mkdir -p "$cache"
exec {lock}>"$cache/.lock"
flock "$lock"
if [ "$(cat "$root/.wcbroker-stamp" 2>/dev/null)" != "$stamp" ]; then
    # Nothing may be mounted below the cache when it is deleted or replaced:
    # an rm -rf would go through a bind mount of /dev into the host's.
    if grep -q " ${cache}[/ ]" /proc/mounts; then
        echo "debian13-root: something is mounted below $cache; unmount it first:" >&2
        grep " ${cache}[/ ]" /proc/mounts >&2
        exit 1
    fi
    echo "debian13-root: making the Debian 13 root in $root (mmdebstrap, once)" >&2
    rm -rf --one-file-system "$root.new"
    mmdebstrap --quiet --variant=apt --mode=root --include="$(IFS=,; echo "${packages[*]}")" \
        trixie "$root.new" http://deb.debian.org/debian >&2
    echo "$stamp" >"$root.new/.wcbroker-stamp"
    rm -rf --one-file-system "$root"
    mv "$root.new" "$root"
fi
echo "$root"
