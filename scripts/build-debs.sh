#!/bin/bash
# Builds wcbroker's Debian packages (debian/) from this checkout, on this
# Debian 12 host or, with --debian13, in the cached Debian 13 root of
# scripts/debian13-root.sh, and prints the directory holding the .debs and
# the .changes as its last line. With --lintian, runs lintian on them and
# fails on any error or warning (debian/*.lintian-overrides say why each
# override is there).
#
# Usage: scripts/build-debs.sh [--debian13] [--lintian]     (as root)
# The packages land in /var/tmp/wcbroker-debs/debian12 or .../debian13
# (WCBROKER_DEBS_DIR instead of /var/tmp/wcbroker-debs), replaced on each
# run. The tests are not built or run (DEB_BUILD_OPTIONS=nocheck, the
# nocheck profile): scripts/test.sh runs them. DEB_BUILD_OPTIONS from the
# environment is kept ("parallel=1" on a busy machine).
set -euo pipefail
cd "$(dirname "$0")/.."

debian13=false
lintian=false
for arg in "$@"; do
    case "$arg" in
    --debian13) debian13=true ;;
    --lintian) lintian=true ;;
    *)
        echo "usage: $0 [--debian13] [--lintian]" >&2
        exit 2
        ;;
    esac
done
options="nocheck ${DEB_BUILD_OPTIONS:-parallel=$(nproc)}"

# The tree as git has it (untracked files included, ignored ones not), into
# DIR/src: dpkg-buildpackage writes the packages into its parent. The path
# stays the same from run to run, so ccache finds its earlier results.
copy_tree() {
    local dir=$1
    rm -rf --one-file-system "$dir"
    mkdir -p "$dir/src"
    git ls-files -z --cached --others --exclude-standard |
        tar --null --files-from=- --create --file=- | tar --extract --file=- --directory="$dir/src"
}

# Run in DIR/src, on the host or in the root: build, then lintian.
# shellcheck disable=SC2016  # expanded by the shell that runs it
build_commands='
    set -e
    cd "$1/src"
    # debhelper gives the build a HOME of its own, inside the tree: name
    # the real cache or ccache starts cold on every run.
    if command -v ccache >/dev/null; then
        CCACHE_DIR=$(ccache --get-config cache_dir)
        export CCACHE_DIR
    fi
    DEB_BUILD_OPTIONS="$2" dpkg-buildpackage -us -uc -b -Pnocheck >../build.log 2>&1 ||
        { tail -n 40 ../build.log; exit 1; }
    if [ "$3" = true ]; then
        echo "== lintian ($(lintian --version), $(cat /etc/debian_version))"
        lintian --fail-on error,warning --info ../*.changes
    fi
'

if [ "$(id -u)" -ne 0 ]; then
    echo "build-debs: needs root (dpkg-buildpackage's build dependencies, the Debian 13 root)" >&2
    exit 1
fi
out=${WCBROKER_DEBS_DIR:-/var/tmp/wcbroker-debs}

if [ "$debian13" = false ]; then
    dir=$out/debian12
    copy_tree "$dir"
    sh -c "$build_commands" sh "$dir" "$options" "$lintian" >&2
else
    root=$(scripts/debian13-root.sh)
    # Held shared while the root is in use: debian13-root.sh replaces it
    # only under the exclusive lock.
    exec {lock}>"$(dirname "$root")/.lock"
    flock -s "$lock"
    copy_tree "$root/debs"
    # proc for the build, /dev for /dev/null; mounted in a namespace of
    # our own, so nothing stays mounted below the root after this.
    # shellcheck disable=SC2016  # expanded by the inner shell
    unshare --mount --propagation private sh -c '
        root=$1
        shift
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        mount -t tmpfs tmpfs "$root/tmp"
        chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
            sh -c "$@"
    ' sh "$root" "$build_commands" sh /debs "$options" "$lintian" >&2
    dir=$out/debian13
    rm -rf --one-file-system "$dir"
    mkdir -p "$dir"
    find "$root/debs" -maxdepth 1 -type f -exec cp {} "$dir" \;
fi
echo "$dir"
