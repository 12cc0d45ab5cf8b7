#!/bin/bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, builds wcbroker with g++ (build/) and again with clang under
# AddressSanitizer and UndefinedBehaviorSanitizer with the fuzzers
# (build-sanitize/), runs every test in both, builds it once more on
# Debian 13 in a cached root and runs there every suite that does not boot
# QEMU (scripts/test-debian13.sh), builds the Debian packages on both and
# runs lintian on them (scripts/build-debs.sh), boots the Debian 12
# packages under systemd in QEMU, and ends with one line:
# "N passed, N failed[, N skipped]". The end-to-end tests boot Debian
# kernels under QEMU; the kernels are downloaded once into
# /var/cache/wcbroker-vm (WCBROKER_VM_CACHE), never installed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh test

setup() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

status=0
run_suite() {
    local dir=$1
    echo "== meson test -C $dir" >&2
    meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
}

setup build --prefix=/usr
ninja -C build
run_suite build

# Clang's sanitizer runtimes are linked into shared libraries lazily, hence
# b_lundef=false. The fuzzers run WCBROKER_FUZZ_SECONDS each (default 30).
# The QEMU tests ran in the first build: they exercise the same code under a
# real kernel, which sanitizers would slow past any use.
CXX=clang++ setup build-sanitize -Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=enabled -Dvm_tests=disabled
ninja -C build-sanitize
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 run_suite build-sanitize

# Debian 13 (sdbus-c++ 2, toml++ 3.4, gcc 14): every suite but the QEMU
# ones, built and run in a cached trixie root (scripts/test-debian13.sh).
echo "== Debian 13" >&2
debian13_build=$(scripts/test-debian13.sh | tail -n1) || status=1

# The Debian packages, built on both distributions and checked by lintian,
# which fails the step on any error or warning (scripts/build-debs.sh).
# Without the tests (nocheck): they ran above.
echo "== Debian packages" >&2
debs12=0
debs12_dir=$(scripts/build-debs.sh --lintian | tail -n1) || debs12=$?
debs13=0
scripts/build-debs.sh --debian13 --lintian >&2 || debs13=$?
# The vm-systemd scenario again, on the Debian 12 packages' files instead
# of "meson install" (the guest's userland is the host's), on a Debian 12
# and a Debian 13 kernel. 77: QEMU missing, a skip.
debs_vm=1
if [ "$debs12" = 0 ]; then
    debs_vm=0
    tests/vm/run-e2e.sh --systemd --debs "$debs12_dir" build 6.1-cloud 6.12-trixie >&2 || debs_vm=$?
fi

scripts/test-summary.py --step debs-debian12="$debs12" --step debs-debian13="$debs13" \
    --step debs-vm-systemd="$debs_vm" build build-sanitize "$debian13_build" || status=1
exit $status
