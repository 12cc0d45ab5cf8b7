#!/usr/bin/env bash
# Build the wcalias kernel module (kmod/) for one guest kernel of the VM harness and print the
# path of the cached wcalias.ko.
#
# Usage:
#   build-kmod.sh [--src DIR] KERNEL      print the .ko (built once per kernel and source)
#   build-kmod.sh --headers KERNEL        print the kernel's extracted headers dir (KDIR)
#
#   KERNEL       anything kernels.sh fetch accepts (6.1-cloud, 6.1, 6.12, 6.12-trixie, 7.3 ...)
#   --src DIR    module source (default: kmod/ of this checkout, or $WCVM_KMOD_SRC)
#
# For the kernel's exact version (kernel.env: KVER, VERSION) it downloads the matching
# linux-headers-KVER, and what that package depends on of the same Debian version
# (linux-headers-ABI-common, linux-kbuild-*), through the same apt configuration as the kernel
# (kernels.sh: the host's sources, or wcvm_apt_root for other suites), `dpkg-deb -x`es them into
# the cache and points the flavour Makefile's absolute include of the common Makefile at the
# extracted copy.  Nothing is installed on the host; /boot and /lib/modules are not touched.
#
# Compiler: the one that built the kernel (CONFIG_CC_VERSION_TEXT).  gcc 12 (bookworm's
# kernels) on the host; gcc 14 (trixie's) inside the cached Debian 13 root of
# scripts/debian13-root.sh (trixie's linux-kbuild programs need trixie's libc), entered with
# chroot in a private mount namespace that has the headers and a scratch copy of the source
# mounted; nothing stays mounted.  A .ko whose vermagic does not start with the kernel's
# `uname -r` is refused.
#
# Cache: $WCBROKER_VM_CACHE/kmod/headers/KVER_VERSION/ (headers), kmod/ko/KVER_VERSION-HASH/
# (HASH: the module source's file names and contents); the three newest .ko per kernel are kept.
# Exit: 0 ok, 1 build error (compiler output on stderr), 2 usage, 77 something needed is missing
# (prints "SKIP: reason" on standard output: a compiler, root for the Debian 13 root, the
# headers packages).
# shellcheck disable=SC2031  # false positive: WCVM_DIR is set once (readonly) in lib.sh
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=kernels.sh
source "$WCVM_DIR/kernels.sh"

src=${WCVM_KMOD_SRC:-$WCVM_DIR/../../kmod} mode=ko kernel=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --src) src=${2:?}; shift 2 ;;
        --headers) mode=headers; shift ;;
        -h | --help) wcvm_usage "${BASH_SOURCE[0]}" ;;
        -*) echo "build-kmod.sh: unknown option '$1'" >&2; wcvm_usage "${BASH_SOURCE[0]}" ;;
        *) [[ -z "$kernel" ]] || wcvm_usage "${BASH_SOURCE[0]}"; kernel=$1; shift ;;
    esac
done
[[ -n "$kernel" ]] || wcvm_usage "${BASH_SOURCE[0]}"

wcvm_require_tools make dpkg-deb modinfo flock sha256sum

kdir=$(wcvm_kernel_fetch "$kernel")
# shellcheck disable=SC1091  # generated: KVER PKG VERSION META
source "$kdir/kernel.env"
cache=$(wcvm_cache_dir)

# The apt configuration the kernel came from: its short name's suites, else the first suite of
# the table whose lists know the headers, else the host's.
kmod_apt_config() {
    local suites line
    read -r suites _ <<<"$(wcvm_kernel_meta "$kernel")"
    if [[ $suites == host && ! -d "$kernel" ]]; then
        return 0
    fi
    if [[ $suites != host ]]; then
        wcvm_apt_root "$suites"
        return 0
    fi
    # A kernel dir: find the suite whose lists have its headers.
    if [[ -n "$(wcvm_apt_candidate "linux-headers-$KVER")" ]]; then
        return 0
    fi
    for line in "${WCVM_KERNEL_TABLE[@]}"; do
        read -r _ suites _ <<<"$line"
        [[ $suites != host ]] || continue
        if [[ -n "$(APT_CONFIG=$(wcvm_apt_root "$suites") wcvm_apt_candidate "linux-headers-$KVER")" ]]; then
            wcvm_apt_root "$suites"
            return 0
        fi
    done
}
apt_config=$(kmod_apt_config)
if [[ -n "$apt_config" ]]; then
    export APT_CONFIG=$apt_config
fi

# The headers package's dependencies that make up the build tree, all of the kernel's Debian
# version: linux-headers-ABI-common(-rt) and linux-kbuild-* (6.1: linux-kbuild-6.1, 6.12 and
# later: linux-kbuild-KVER-without-flavour).  One "PKG" per line.
kmod_header_parts() {
    apt-cache show "linux-headers-$KVER=$VERSION" 2>/dev/null |
        awk '/^Depends:/ { sub(/^Depends: */, ""); n = split($0, d, / *, */);
                 for (i = 1; i <= n; i++) { split(d[i], w, / /);
                     if (w[1] ~ /^linux-(headers-.*-common|kbuild-)/) print w[1] } exit }'
}
parts=$(wcvm_apt_memo "kmod-headers-$KVER-$VERSION" kmod_header_parts)
if [[ -z "$parts" ]]; then
    wcvm_apt_update_once || true
    parts=$(kmod_header_parts)
fi
[[ -n "$parts" ]] || wcvm_skip "apt knows no linux-headers-$KVER=$VERSION (headers of the guest kernel $KVER)"

hdir="$cache/kmod/headers/${KVER}_${VERSION//:/%3a}"
mkdir -p "$cache/kmod/headers"

# wcvm_deb_entry's FINISH: the extracted tree is the entry, once the flavour Makefile finds the
# rest where it was extracted.  It names /usr/src/ absolutely: "include /usr/src/linux-headers-
# ABI-common/Makefile", and from 7.x also "KBUILD_OUTPUT=/usr/src/linux-headers-KVER" (the
# common Makefile refuses a KBUILD_OUTPUT that does not exist).  Both become relative to the
# flavour Makefile itself (:= so that MAKEFILE_LIST is read before the include), not this
# cache's path, so the tree also works mounted elsewhere (inside the Debian 13 root).
kmod_headers_finish() {
    local tree=$1 entry=$2 mk="$1/usr/src/linux-headers-$KVER/Makefile"
    [[ -f "$mk" ]] || wcvm_die "linux-headers-$KVER has no usr/src/linux-headers-$KVER/Makefile"
    grep -q '^include /usr/src/' "$mk" || wcvm_die "$mk: no 'include /usr/src/...' line to fix: $(head -c 300 "$mk")"
    # shellcheck disable=SC2016  # make syntax
    sed -i -e 's|^include /usr/src/|include $(realpath $(dir $(lastword $(MAKEFILE_LIST)))..)/|' \
        -e 's|^KBUILD_OUTPUT *:\?= */usr/src/|KBUILD_OUTPUT := $(realpath $(dir $(lastword $(MAKEFILE_LIST)))..)/|' "$mk"
    ! grep -n '/usr/src/' "$mk" >&2 || wcvm_die "$mk still names /usr/src/ (lines above): teach build-kmod.sh"
    touch "$tree/.complete"
    mv "$tree" "$entry"
}
specs=("linux-headers-$KVER=$VERSION")
for p in $parts; do specs+=("$p=$VERSION"); done
wcvm_deb_entry kmod-headers "$hdir" .complete kmod_headers_finish "${specs[@]}"
KDIR="$hdir/usr/src/linux-headers-$KVER"

if [[ $mode == headers ]]; then
    printf '%s\n' "$KDIR"
    exit 0
fi

[[ -d "$src" ]] || wcvm_skip "no module source at $src"
src=$(cd "$src" && pwd -P)
[[ -f "$src/Kbuild" || -f "$src/Makefile" ]] || wcvm_skip "$src has no Kbuild or Makefile (the module is not there yet)"

# Key: the source (names and contents, build products left out) and the exact kernel.
srckey=$(
    cd "$src"
    find . -type f ! -name '*.o' ! -name '*.ko' ! -name '*.mod*' ! -name '.*.cmd' ! -name 'Module.symvers' \
        ! -name 'modules.order' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | wcvm_sha256 | cut -c1-16
)
out="$cache/kmod/ko/${KVER}_${VERSION//:/%3a}-$srckey"
ko="$out/wcalias.ko"

cc_text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$kdir/config")
case $cc_text in
    *gcc-12* | *"gcc (Debian 12."*) where=host cc=gcc-12 ;;
    *gcc-14* | *"gcc (Debian 14."*) where=debian13 cc=gcc-14 ;;
    *) wcvm_skip "$KVER was built by '$cc_text': no recipe for that compiler in build-kmod.sh" ;;
esac

# kmod_build_host DIR : build the scratch copy DIR with the host's make and compiler.  Headers
# that ship vmlinux make kbuild run pahole for the module's BTF; without pahole, no BTF (the
# module loads all the same) rather than a failed build.
kmod_build_host() {
    local nobtf=()
    wcvm_require_tools "$cc" "x86_64-linux-gnu-$cc"
    if [[ -f "$KDIR/vmlinux" ]] && ! command -v pahole >/dev/null; then
        wcvm_log "no pahole on this machine: building without BTF (apt-get install pahole)"
        nobtf=(CONFIG_DEBUG_INFO_BTF_MODULES=)
    fi
    make -C "$KDIR" M="$1" "${nobtf[@]}" modules >&2
}

# kmod_build_debian13 DIR : the same inside the Debian 13 root.  The root is entered only in a
# private mount namespace: a tmpfs on its /mnt holds the headers (bind, read-only) and the
# scratch source, /proc is a fresh proc, and all of it goes away with the namespace, so nothing
# is left mounted under a directory that debian13-root.sh deletes with rm -rf.
kmod_build_debian13() {
    local dir=$1 root lockfd
    [[ $(id -u) == 0 ]] || wcvm_skip "$KVER needs gcc 14: building in the Debian 13 root needs root (chroot, mmdebstrap)"
    wcvm_require_tools unshare chroot mmdebstrap
    root=$("$WCVM_DIR/../../scripts/debian13-root.sh") ||
        wcvm_skip "the Debian 13 root for gcc 14 could not be made (scripts/debian13-root.sh)"
    exec {lockfd}>"$(dirname "$root")/.lock"
    flock -s "$lockfd"
    [[ -x "$root/usr/bin/make" && -x "$root/usr/bin/x86_64-linux-gnu-$cc" ]] ||
        wcvm_skip "the Debian 13 root $root has no make or $cc"
    # shellcheck disable=SC2016  # expanded by the inner shell
    unshare --mount --propagation private sh -c '
        set -e
        root=$1 hdr=$2 dir=$3 kver=$4
        mount -t tmpfs -o mode=0755 wcvm-kmod "$root/mnt"
        mkdir "$root/mnt/hdr" "$root/mnt/src"
        mount --bind "$hdr" "$root/mnt/hdr"
        mount -o remount,bind,ro "$root/mnt/hdr"
        cp -a "$dir/." "$root/mnt/src/"
        # objtool (7.x) reads its stack limit from /proc: a fresh proc, not a bind.
        mount -t proc proc "$root/proc"
        chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
            make -C "/mnt/hdr/usr/src/linux-headers-$kver" M=/mnt/src modules
        cp -a "$root/mnt/src/." "$dir/"
    ' sh "$root" "$hdir" "$dir" "$KVER" >&2
}

kmod_build() {
    local scratch vermagic
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/wcvm-kmod.XXXXXX")
    # shellcheck disable=SC2064  # expand now
    trap "rm -rf --one-file-system '$scratch'" EXIT
    cp -a "$src/." "$scratch/"
    wcvm_log "building wcalias.ko for $KVER with $cc ($where)"
    if ! "kmod_build_$where" "$scratch"; then
        wcvm_die "the module build for $KVER failed (compiler output above)"
    fi
    [[ -f "$scratch/wcalias.ko" ]] || wcvm_die "the build for $KVER made no wcalias.ko"
    vermagic=$(modinfo -F vermagic "$scratch/wcalias.ko")
    [[ "$vermagic" == "$KVER "* ]] ||
        wcvm_die "wcalias.ko built for $KVER has vermagic '$vermagic': refused"
    wcvm_log "wcalias.ko for $KVER: vermagic '$vermagic'"
    mkdir -p "$out.tmp.$$"
    cp "$scratch/wcalias.ko" "$out.tmp.$$/"
    echo "$vermagic" >"$out.tmp.$$/vermagic"
    rm -rf "$out"
    mv "$out.tmp.$$" "$out"
    # Keep the three newest builds of this kernel.
    find "$cache/kmod/ko" -maxdepth 1 -name "${KVER}_*" -printf '%T@ %p\n' | sort -rn | tail -n +4 |
        while read -r _ old; do rm -rf "$old"; done
}
kmod_done() { [[ -f "$ko" ]]; }
mkdir -p "$cache/kmod/ko"
wcvm_once "kmod-$KVER" kmod_done kmod_build
printf '%s\n' "$ko"
