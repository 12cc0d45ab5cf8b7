#!/usr/bin/env bash
# Build the gzip cpio initramfs of the wcbroker test VM.
#
# Usage:
#   build-initramfs.sh -k KERNEL -o OUT [--scenario FILE] [--bin SRC[:DEST]]...
#                      [--file SRC:DEST]... [--env NAME=VALUE]...
#
#   -k KERNEL        kernel dir from kernels.sh, or anything kernels.sh fetch accepts (6.12 ...)
#   -o OUT           initramfs to write
#   --scenario FILE  guest script run by /init as the main step (as root, cwd /tmp, sh)
#   --bin SRC[:DEST] host executable plus every library `ldd` names, each copied (cp -L) to the
#                    same path in the guest.  DEST defaults to SRC when SRC is under /usr, /bin,
#                    /sbin, /lib* or /opt, else to /usr/bin/NAME.  Libraries outside the system
#                    dirs are also copied to /usr/lib/x86_64-linux-gnu, so a build-tree binary
#                    whose RUNPATH is $ORIGIN-relative still finds them after moving.
#   --file SRC:DEST  file or directory (copied recursively, contents into DEST) e.g. udev rules
#                    to /etc/udev/rules.d/, a bus policy to /usr/share/dbus-1/system.d/, config
#   --env NAME=VALUE exported to the scenario (written to /etc/wcbroker-vm/env)
#
# Environment: WCBROKER_VM_CACHE (cache dir), WCVM_REBUILD=1 (ignore cached image parts).
# Exit codes: 0 ok, 1 error, 2 usage, 77 a required tool is missing (prints SKIP:).
#
# The image is three concatenated gzip cpio archives, which the kernel unpacks in order:
#   base     busybox, dbus-daemon, systemd-udevd, /etc, /init, setids, wc-poke
#            (cached, keyed by the harness sources and the host binaries it copies);
#   kernel   the vfio modules + modules.dep for this kernel (cached in the kernel dir);
#   extras   the caller's binaries, files and scenario (rebuilt every call: small and volatile).
# shellcheck disable=SC2031  # false positive: WCVM_DIR is set once (readonly) in lib.sh
set -euo pipefail
umask 022 # guest users other than root must be able to traverse and execute

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=kernels.sh
source "$WCVM_DIR/kernels.sh"

usage() {
    wcvm_usage "${BASH_SOURCE[0]}"
}

kernel="" out="" scenario=""
bins=() files=() envs=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -k | --kernel) kernel=${2:?}; shift 2 ;;
        -o | --output) out=${2:?}; shift 2 ;;
        --scenario) scenario=${2:?}; shift 2 ;;
        --bin) bins+=("${2:?}"); shift 2 ;;
        --file) files+=("${2:?}"); shift 2 ;;
        --env) envs+=("${2:?}"); shift 2 ;;
        -h | --help) usage ;;
        *) echo "build-initramfs.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
[[ -n "$kernel" && -n "$out" ]] || usage

wcvm_require_tools busybox dbus-daemon cpio gzip ldd gcc dpkg-deb sha256sum flock
busybox_bin=$(command -v busybox)
dbus_bin=$(command -v dbus-daemon)
# Debian's dynamic busybox package has fewer applets and needs libs: insist on the static one.
if ldd "$busybox_bin" >/dev/null 2>&1; then
    wcvm_skip "$busybox_bin is dynamically linked; install busybox-static"
fi

kdir=$(wcvm_kernel_fetch "$kernel")
cache=$(wcvm_cache_dir)
work=$(mktemp -d "${TMPDIR:-/tmp}/wcvm-initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- helpers ------------------------------------------------------------------------------

# The merged-/usr skeleton, so that a library ldd reports as /lib/x86_64-linux-gnu/x and one
# reported as /usr/lib/x86_64-linux-gnu/x land in the same place, as on Debian 12 hosts.
skeleton() {
    local root=$1 d
    mkdir -p "$root"/usr/{bin,sbin,lib,lib64}
    for d in bin sbin lib lib64; do ln -sfn "usr/$d" "$root/$d"; done
}

# Copy a file to a guest path.  rm first: the destination may be a busybox applet symlink,
# and cp would write through it and overwrite busybox itself.
put() {
    local src=$1 root=$2 dest=$3
    mkdir -p "$root$(dirname "$dest")"
    rm -f "$root$dest"
    cp -L "$src" "$root$dest"
}

system_lib_dir() {
    case $1 in
        /lib/x86_64-linux-gnu | /usr/lib/x86_64-linux-gnu | /lib | /usr/lib | /lib64 | /usr/lib64) return 0 ;;
        *) return 1 ;;
    esac
}

# install_with_libs SRC ROOT DEST : SRC to DEST plus its ldd closure (ldd already lists
# indirect dependencies, and the dynamic loader itself as /lib64/ld-linux-x86-64.so.2).
install_with_libs() {
    local src=$1 root=$2 dest=$3 out lib base
    [[ -f "$src" && -x "$src" ]] || wcvm_die "not an executable file: $src"
    put "$src" "$root" "$dest"
    # ldd exits 1 for static binaries; its output says so, which is all we need.
    out=$(LC_ALL=C ldd "$src" 2>&1 || true)
    if grep -q 'not found' <<<"$out"; then
        wcvm_die "ldd $src: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"
    fi
    while read -r lib; do
        [[ -n "$lib" ]] || continue
        put "$lib" "$root" "$lib"
        base=$(basename "$lib")
        # A hwcaps-optimised copy (glibc-hwcaps/x86-64-v4/...) may not suit the guest CPU
        # (TCG has no AVX-512): ship the baseline one too.
        if [[ "$lib" == */glibc-hwcaps/*/* ]]; then
            local plain="${lib%%/glibc-hwcaps/*}/$base"
            [[ ! -e "$plain" ]] || put "$plain" "$root" "$plain"
        elif ! system_lib_dir "$(dirname "$lib")"; then
            put "$lib" "$root" "/usr/lib/x86_64-linux-gnu/$base"
        fi
    done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$out")
}

# manifest DIR : "sha256  ./path" of every regular file, sorted, to compare image parts.
manifest() {
    (cd "$1" && find . -type f -print0 | xargs -0r sha256sum | LC_ALL=C sort)
}

# cpio_gz DIR OUT : newc archive of DIR's contents, root-owned whoever builds it.  Not ".":
# its mode would be applied to the guest's / (and mktemp dirs are 0700).
cpio_gz() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 -n >"$2"
}

# --- base part ------------------------------------------------------------------------------

udev_tree=$(wcvm_deb_tree udev)
setids_bin=$(wcvm_helper setids)
wcpoke_bin=$(wcvm_helper wc-poke)

base_key=$(
    {
        cat "$WCVM_DIR/build-initramfs.sh" "$WCVM_DIR/lib.sh"
        find "$WCVM_DIR/guest" -type f | LC_ALL=C sort | xargs cat
        wcvm_sha256 "$busybox_bin" "$dbus_bin" "$setids_bin" "$wcpoke_bin" "$udev_tree/bin/udevadm"
    } | wcvm_sha256 | cut -c1-16
)
base="$cache/initramfs/base-$base_key.cpio.gz"
base_list="$cache/initramfs/base-$base_key.list"

build_base() {
    local root="$work/base" a
    wcvm_log "building base image part $base_key"
    skeleton "$root"
    mkdir -p "$root"/{dev,proc,sys,run,tmp,root,home,etc,var/lib,var/tmp,usr/libexec/wcbroker-vm}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 0700 "$root/root"
    ln -sfn ../run "$root/var/run"
    put "$busybox_bin" "$root" /usr/bin/busybox
    while read -r a; do
        a=${a#/}
        case $a in
            linuxrc) continue ;;
            bin/* | usr/bin/*) a=/usr/bin/${a##*/} ;;
            sbin/* | usr/sbin/*) a=/usr/sbin/${a##*/} ;;
            *) continue ;;
        esac
        [[ -e "$root$a" || -L "$root$a" ]] || ln -s /usr/bin/busybox "$root$a"
    done < <("$busybox_bin" --list-full)

    install_with_libs "$dbus_bin" "$root" /usr/bin/dbus-daemon
    put "$WCVM_DIR/guest/dbus-system.conf" "$root" /usr/share/dbus-1/system.conf
    mkdir -p "$root/usr/share/dbus-1/system.d" "$root/etc/dbus-1/system.d"

    install_with_libs "$udev_tree/bin/udevadm" "$root" /usr/bin/udevadm
    mkdir -p "$root/usr/lib/systemd" "$root/etc/udev/rules.d" "$root/usr/lib/udev/rules.d"
    # udevadm is multi-call: started under this name it is the daemon.
    ln -sfn /usr/bin/udevadm "$root/usr/lib/systemd/systemd-udevd"
    put "$udev_tree/etc/udev/udev.conf" "$root" /etc/udev/udev.conf

    put "$setids_bin" "$root" /usr/bin/setids
    put "$wcpoke_bin" "$root" /usr/bin/wc-poke
    for a in passwd group nsswitch.conf hostname hosts; do
        put "$WCVM_DIR/guest/etc/$a" "$root" "/etc/$a"
    done
    put "$WCVM_DIR/guest/init" "$root" /init
    chmod 0755 "$root/init"

    mkdir -p "$cache/initramfs"
    cpio_gz "$root" "$base.tmp.$$"
    manifest "$root" >"$base_list"
    mv -f "$base.tmp.$$" "$base"
    # Every harness edit makes a new base (7.5 MB); keep only the three newest, enough for a
    # few checkouts of different versions sharing the cache.
    find "$cache/initramfs" -maxdepth 1 -name 'base-*.cpio.gz' -printf '%T@ %p\n' |
        sort -rn | tail -n +4 | while read -r _ old; do
        rm -f "$old" "${old%.cpio.gz}.list"
    done
}

if [[ ! -s "$base" || ! -s "$base_list" || -n "${WCVM_REBUILD:-}" ]]; then
    wcvm_lock "initramfs-base"
    [[ -s "$base" && -s "$base_list" && -z "${WCVM_REBUILD:-}" ]] || build_base
fi

# --- kernel part ----------------------------------------------------------------------------

kpart="$kdir/initramfs-modules.cpio.gz"
if [[ ! -s "$kpart" || -n "${WCVM_REBUILD:-}" ]]; then
    (
        wcvm_lock "initramfs-kernel-$(basename "$kdir")"
        root="$work/kernel"
        # shellcheck disable=SC1091  # generated: defines KVER
        source "$kdir/kernel.env"
        skeleton "$root"
        cp -a "$kdir/modules/usr/." "$root/usr/"
        mkdir -p "$root/boot" "$root/etc/wcbroker-vm"
        cp "$kdir/config" "$root/boot/config-$KVER"
        cp "$kdir/modules.list" "$root/etc/wcbroker-vm/modules.list"
        cpio_gz "$root" "$kpart.tmp.$$"
        mv -f "$kpart.tmp.$$" "$kpart"
    )
fi

# --- extras part ----------------------------------------------------------------------------

root="$work/extras"
skeleton "$root"
for spec in "${bins[@]}"; do
    src=${spec%%:*}
    if [[ "$spec" == *:* ]]; then
        dest=${spec#*:}
    else
        src=$(readlink -f "$src")
        case $src in
            /usr/* | /bin/* | /sbin/* | /lib*/* | /opt/*) dest=$src ;;
            *) dest=/usr/bin/$(basename "$src") ;;
        esac
    fi
    install_with_libs "$src" "$root" "$dest"
done
for spec in "${files[@]}"; do
    [[ "$spec" == *:/* ]] || wcvm_die "--file wants SRC:/absolute/dest, got '$spec'"
    src=${spec%%:*} dest=${spec#*:}
    [[ -e "$src" ]] || wcvm_die "--file source not found: $src"
    if [[ -d "$src" ]]; then
        mkdir -p "$root$dest"
        cp -a "$src/." "$root$dest/"
    else
        [[ "$dest" != */ ]] || dest=$dest$(basename "$src")
        put "$src" "$root" "$dest"
    fi
done
if [[ -n "$scenario" ]]; then
    [[ -f "$scenario" ]] || wcvm_die "scenario not found: $scenario"
    put "$scenario" "$root" /usr/libexec/wcbroker-vm/scenario
    chmod 0755 "$root/usr/libexec/wcbroker-vm/scenario"
fi
if [[ ${#envs[@]} -gt 0 ]]; then
    mkdir -p "$root/etc/wcbroker-vm"
    for e in "${envs[@]}"; do
        [[ "$e" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || wcvm_die "--env wants NAME=VALUE, got '$e'"
        printf '%s=%q\n' "${e%%=*}" "${e#*=}"
    done >"$root/etc/wcbroker-vm/env"
fi
# Files the base already has with the same content (libc, ...) need not travel twice; a
# caller's file that differs (its own /etc/passwd, say) stays and wins, being unpacked later.
manifest "$root" | LC_ALL=C comm -12 - "$base_list" | while read -r _ f; do
    rm -f "$root/$f"
done
cpio_gz "$root" "$work/extras.cpio.gz"

mkdir -p "$(dirname "$out")"
cat "$base" "$kpart" "$work/extras.cpio.gz" >"$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
wcvm_log "initramfs $out: $(du -h "$out" | cut -f1) (kernel $(basename "$kdir"))"
