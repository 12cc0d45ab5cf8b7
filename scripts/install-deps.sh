#!/bin/bash
# Installs, from Debian 12's archive, whatever wcbroker's build, tests and
# demo need and this machine lacks. Runs as root; safe to run again.
# Usage: install-deps.sh [build|debs|test|demo]   (default: test, the superset)
set -euo pipefail

# systemd and udev are here for their pkg-config files, which say where
# units, the journal catalog and udev rules are installed.
build_packages=(
    g++ meson ninja-build pkg-config python3
    libtomlplusplus-dev libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev libudev-dev
    libgtest-dev libgmock-dev systemd udev
)
# The Debian packages (scripts/build-debs.sh): debian/control's
# Build-Depends beyond the build's, and lintian, which the tests run on them.
deb_packages=(
    build-essential debhelper dh-dkms lintian
)
# Tests: a private bus, umockdev for udev, clang for the fuzzers and the
# sanitizer build, QEMU and a guest userland for the end-to-end tests, and
# the linters for scripts and man pages, mmdebstrap for the Debian 13 root
# the suites run in a second time (scripts/test-debian13.sh) and the wcalias
# module is built in for trixie's kernels, pahole for the module's BTF
# against kernels whose headers ship vmlinux, and dkms for its DKMS test.
test_packages=(
    dbus-daemon dbus-bin umockdev libumockdev-dev
    clang libclang-rt-14-dev
    qemu-system-x86 busybox-static cpio kmod xz-utils gzip gcc libc6-dev
    shellcheck groff-base man-db
    mmdebstrap pahole dkms
)
# The vm-dpdk tests (issue 14): Debian's own dpdk-testpmd (in dpdk-dev) and
# the virtio-net PMD, a plugin no package it depends on brings. The PMD's
# package carries the DPDK ABI in its name: 23 in Debian 12, 25 in 13.
case "$(sed -n 's/^VERSION_ID="\{0,1\}\([0-9]*\).*/\1/p' /etc/os-release)" in
12) test_packages+=(dpdk-dev librte-net-virtio23) ;;
13) test_packages+=(dpdk-dev librte-net-virtio25) ;;
esac

case "${1:-test}" in
build) wanted=("${build_packages[@]}") ;;
debs) wanted=("${build_packages[@]}" "${deb_packages[@]}") ;;
test | demo) wanted=("${build_packages[@]}" "${test_packages[@]}" "${deb_packages[@]}") ;;
*)
    echo "usage: $0 [build|debs|test|demo]" >&2
    exit 2
    ;;
esac

missing=()
for package in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run this as root (or install them)" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh once and retry.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
