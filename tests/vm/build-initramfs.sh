#!/usr/bin/env bash
# Build the gzip cpio initramfs of the wcbroker test VM.
#
# Usage:
#   build-initramfs.sh -k KERNEL -o OUT [--systemd] [--scenario FILE] [--tree DIR]...
#                      [--bin SRC[:DEST]]... [--file SRC:DEST]... [--env NAME=VALUE]...
#                      [--kmod FILE.ko]... [--lib SRC[:DEST]]...
#
#   -k KERNEL        kernel dir from kernels.sh, or anything kernels.sh fetch accepts (6.12 ...)
#   -o OUT           initramfs to write
#   --systemd        systemd is PID 1 (guest/init execs it), with journald, udevd and the bus
#                    started by their units; the scenario runs from wcvm-scenario.service.
#                    Units: guest/systemd/units.list.  Default: busybox /init starts everything
#   --scenario FILE  guest script run by /init as the main step (as root, cwd /tmp, sh)
#   --tree DIR       a `meson install --destdir DIR` tree, merged into the guest's /; its
#                    top-level bin, sbin, lib, lib64 go to /usr (the guest is merged-/usr, Debian
#                    pkg-config says /lib/udev, /lib/systemd/system).  Merged before --bin/--file
#   --bin SRC[:DEST] host executable plus every library `ldd` names, each copied (cp -L) to the
#                    same path in the guest.  DEST defaults to SRC's path inside its --tree, else
#                    to SRC when SRC is under /usr, /bin, /sbin, /lib* or /opt, else to
#                    /usr/bin/NAME.  Libraries outside /usr/lib and /lib are also copied to
#                    /usr/lib/x86_64-linux-gnu, so a build-tree binary whose RUNPATH is
#                    $ORIGIN-relative still finds them after moving.  ldd searches the --tree
#                    library dirs first; libraries found there are left to the tree (also
#                    copied to /usr/lib/x86_64-linux-gnu if under /usr/local)
#   --lib SRC[:DEST] a shared object that nothing links but something loads (a DPDK PMD plugin,
#                    an LD_PRELOAD library), with its ldd closure, as --bin does; DEST defaults
#                    to SRC's own path
#   --file SRC:DEST  file or directory (copied recursively, contents into DEST) e.g. udev rules
#                    to /etc/udev/rules.d/, a bus policy to /usr/share/dbus-1/system.d/, config
#   --env NAME=VALUE exported to the scenario (written to /etc/wcbroker-vm/env)
#   --kmod FILE.ko   an out-of-tree module built for this kernel (tests/vm/build-kmod.sh), put in
#                    /usr/lib/modules/KVER/updates/dkms/ (where DKMS puts it) with a modules.dep
#                    from depmod, so `modprobe NAME` loads it; nothing loads it at boot (scenarios
#                    decide).  Refused unless its vermagic starts with the kernel's release
#
# Environment: WCBROKER_VM_CACHE (cache dir), WCVM_REBUILD=1 (ignore cached image parts).
# Exit codes: 0 ok, 1 error, 2 usage, 77 a required tool is missing (prints SKIP:).
#
# The image is three or four concatenated gzip cpio archives, which the kernel unpacks in order:
#   base     busybox, dbus-daemon, systemd-udevd, /etc, /init, setids, wc-poke
#            (cached, keyed by the harness sources and the host binaries it copies);
#   systemd  with --systemd only: systemd, journald, systemctl, journalctl, busctl, the host's
#            udevadm, the units of guest/systemd/units.list, configs, the mode marker
#            (cached, keyed by the harness sources, the host binaries and the unit files);
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

kernel="" out="" scenario="" systemd=0
bins=() files=() envs=() trees=() kmods=() libs=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -k | --kernel) kernel=${2:?}; shift 2 ;;
        -o | --output) out=${2:?}; shift 2 ;;
        --systemd) systemd=1; shift ;;
        --scenario) scenario=${2:?}; shift 2 ;;
        --tree) trees+=("${2:?}"); shift 2 ;;
        --bin) bins+=("${2:?}"); shift 2 ;;
        --file) files+=("${2:?}"); shift 2 ;;
        --env) envs+=("${2:?}"); shift 2 ;;
        --kmod) kmods+=("${2:?}"); shift 2 ;;
        --lib) libs+=("${2:?}"); shift 2 ;;
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

# Library dirs of the --tree arguments (absolute), for ldd: see install_with_libs.
tree_libpath=""

# in_tree PATH : is PATH inside one of the --tree dirs?  Prints that dir.
in_tree() {
    local t
    for t in "${trees[@]}"; do
        if [[ "$1" == "$t"/* ]]; then
            printf '%s\n' "$t"
            return 0
        fi
    done
    return 1
}

# install_with_libs SRC ROOT DEST : SRC to DEST plus its ldd closure (ldd already lists
# indirect dependencies, and the dynamic loader itself as /lib64/ld-linux-x86-64.so.2).
# A binary from a --tree may need libraries the tree installs (an installed binary has no
# build-dir RUNPATH): ldd searches the tree's library dirs first, and what it finds there is
# not copied, the tree brings it to the right place; unless that place is not one the guest's
# loader searches (a /usr/local prefix: the guest has no ld.so.cache), then it also goes to
# /usr/lib/x86_64-linux-gnu.
install_with_libs() {
    local src=$1 root=$2 dest=$3 out lib base tree rel ldenv=(LC_ALL=C)
    [[ -f "$src" ]] || wcvm_die "not a file: $src"
    put "$src" "$root" "$dest"
    [[ -z "$tree_libpath" ]] || ldenv+=("LD_LIBRARY_PATH=$tree_libpath")
    # ldd exits 1 for static binaries; its output says so, which is all we need.
    out=$(env "${ldenv[@]}" ldd "$src" 2>&1 || true)
    if grep -q 'not found' <<<"$out"; then
        wcvm_die "ldd $src: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"
    fi
    while read -r lib; do
        [[ -n "$lib" ]] || continue
        if tree=$(in_tree "$lib"); then
            rel=/${lib#"$tree"/}
            case $rel in /lib/* | /lib64/*) rel=/usr$rel ;; esac
            system_lib_dir "$(dirname "$rel")" || put "$lib" "$root" "/usr/lib/x86_64-linux-gnu/$(basename "$lib")"
            continue
        fi
        put "$lib" "$root" "$lib"
        base=$(basename "$lib")
        # A hwcaps-optimised copy (glibc-hwcaps/x86-64-v4/...) may not suit the guest CPU
        # (TCG has no AVX-512): ship the baseline one too.
        if [[ "$lib" == */glibc-hwcaps/*/* ]]; then
            local plain="${lib%%/glibc-hwcaps/*}/$base"
            [[ ! -e "$plain" ]] || put "$plain" "$root" "$plain"
        elif ! system_lib_dir "$(dirname "$lib")" && [[ "$lib" != /usr/lib/* && "$lib" != /lib/* ]]; then
            # Not for installed private libraries (/usr/lib/x86_64-linux-gnu/systemd/...):
            # their binaries' RUNPATH names that very dir, which the guest has.
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

# prune_parts PREFIX : every harness edit makes new cached parts (several MB each); keep only
# the three newest, enough for a few checkouts of different versions sharing the cache.
prune_parts() {
    find "$cache/initramfs" -maxdepth 1 -name "$1-*.cpio.gz" -printf '%T@ %p\n' |
        sort -rn | tail -n +4 | while read -r _ old; do
        rm -f "$old" "${old%.cpio.gz}.list"
    done
}

# merge_tree DIR ROOT : a `meson install --destdir` tree into the guest root.  The guest is
# merged-/usr (/lib is a symlink to usr/lib) while Debian's pkg-config sends udev rules to
# /lib/udev and units to /lib/systemd/system: `cp -a DIR/. ROOT/` would fail to put the
# tree's lib directory over the lib symlink.  Top-level bin, sbin, lib, lib64 go into usr/.
merge_tree() {
    local dir=$1 root=$2 e name
    while IFS= read -r -d '' e; do
        name=${e##*/}
        case $name in
            bin | sbin | lib | lib64)
                # A merged-/usr tree's own symlink: its target is merged anyway.
                [[ ! -L "$e" ]] || continue
                mkdir -p "$root/usr/$name"
                cp -a "$e/." "$root/usr/$name/"
                ;;
            *)
                if [[ -d "$e" && ! -L "$e" ]]; then
                    mkdir -p "$root/$name"
                    cp -a "$e/." "$root/$name/"
                else
                    cp -a "$e" "$root/$name"
                fi
                ;;
        esac
    done < <(find "$dir" -mindepth 1 -maxdepth 1 -print0)
}

# --- base part ------------------------------------------------------------------------------

udev_tree=$(wcvm_deb_tree udev)
setids_bin=$(wcvm_helper setids)
wcpoke_bin=$(wcvm_helper wc-poke)

base_key=$(
    {
        cat "$WCVM_DIR/build-initramfs.sh" "$WCVM_DIR/lib.sh"
        find "$WCVM_DIR/guest" -path "$WCVM_DIR/guest/systemd" -prune -o -type f -print |
            LC_ALL=C sort | xargs cat
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
    put "$WCVM_DIR/guest/checks.sh" "$root" /usr/libexec/wcbroker-vm/checks.sh
    chmod 0755 "$root/init"

    mkdir -p "$cache/initramfs"
    cpio_gz "$root" "$base.tmp.$$"
    manifest "$root" >"$base_list"
    mv -f "$base.tmp.$$" "$base"
    prune_parts base
}

# part_done FILE... : the cached part is there (and no rebuild was asked for).
part_done() {
    [[ -z "${WCVM_REBUILD:-}" ]] || return 1
    local f
    for f in "$@"; do
        [[ -s "$f" ]] || return 1
    done
}
base_done() { part_done "$base" "$base_list"; }
wcvm_once initramfs-base base_done build_base

# --- systemd part (--systemd) ---------------------------------------------------------------

# Host programs of the systemd mode, each with its ldd closure.  udevadm (which the base's
# /usr/lib/systemd/systemd-udevd links to) is the host's, not the one from the extracted udev
# .deb the base uses: the host's udev is the same build as its systemd (one source package,
# installed together, libudev1 pinned to the same version), the udevd units come from that
# package too, and the .deb is the apt candidate, which can move ahead of the installed
# systemd after a point release.
systemd_progs=(
    /usr/lib/systemd/systemd
    /usr/lib/systemd/systemd-journald
    /usr/lib/systemd/systemd-shutdown
    /usr/bin/systemctl
    /usr/bin/journalctl
    /usr/bin/busctl
    /usr/bin/systemd-cat
    /usr/bin/systemd-run
    /usr/bin/systemd-notify
    /usr/bin/udevadm
)
# Host files of the systemd package that make PID 1 a bus citizen: it may own
# org.freedesktop.systemd1, and the activator name is known to the bus.
systemd_bus_files=(
    /usr/share/dbus-1/system.d/org.freedesktop.systemd1.conf
    /usr/share/dbus-1/system-services/org.freedesktop.systemd1.service
)
sd_guest="$WCVM_DIR/guest/systemd"

# units_list : the entries of guest/systemd/units.list, comments and blank lines dropped.
units_list() {
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$sd_guest/units.list"
}

# unit_source UNIT : the harness's own unit, else the host's.
unit_source() {
    if [[ -f "$sd_guest/units/$1" ]]; then
        printf '%s\n' "$sd_guest/units/$1"
    elif [[ -f "/lib/systemd/system/$1" ]]; then
        printf '%s\n' "/lib/systemd/system/$1"
    else
        wcvm_die "units.list names $1, which is neither in $sd_guest/units nor in /lib/systemd/system"
    fi
}

build_systemd() {
    local root="$work/systemd" units p unit rest t
    wcvm_log "building systemd image part $systemd_key"
    skeleton "$root"
    for p in "${systemd_progs[@]}"; do
        install_with_libs "$p" "$root" "$p"
    done
    units="$root/usr/lib/systemd/system"
    mkdir -p "$units"
    while read -r unit rest; do
        case $rest in
            "-> "*) ln -sfn "${rest#-> }" "$units/$unit" ;;
            mask) ln -sfn /dev/null "$units/$unit" ;;
            *)
                put "$(unit_source "$unit")" "$root" "/usr/lib/systemd/system/$unit"
                for t in $rest; do
                    mkdir -p "$units/$t.wants"
                    ln -sfn "../$unit" "$units/$t.wants/$unit"
                done
                ;;
        esac
    done < <(units_list)
    put "$sd_guest/system.conf" "$root" /etc/systemd/system.conf.d/wcvm.conf
    put "$sd_guest/journald.conf" "$root" /etc/systemd/journald.conf.d/wcvm.conf
    put "$sd_guest/dbus-activation.conf" "$root" /usr/share/dbus-1/system.d/wcvm-systemd-activation.conf
    for p in "${systemd_bus_files[@]}"; do
        put "$p" "$root" "$p"
    done
    put "$sd_guest/os-release" "$root" /usr/lib/os-release
    mkdir -p "$root/etc/wcbroker-vm"
    echo systemd >"$root/etc/wcbroker-vm/init-mode"

    # The list describes what the guest sees; the archive leaves out what the base already
    # has byte for byte (libc, libcrypto, ...: half of the closure).
    manifest "$root" >"$sdpart_list.tmp.$$"
    LC_ALL=C comm -12 "$sdpart_list.tmp.$$" "$base_list" | while read -r _ f; do
        rm -f "$root/$f"
    done
    cpio_gz "$root" "$sdpart.tmp.$$"
    mv -f "$sdpart_list.tmp.$$" "$sdpart_list"
    mv -f "$sdpart.tmp.$$" "$sdpart"
    prune_parts systemd
}

sdpart="" sdpart_list=""
if [[ $systemd == 1 ]]; then
    for p in "${systemd_progs[@]}" "${systemd_bus_files[@]}"; do
        [[ -e "$p" ]] || wcvm_skip "--systemd needs the host's $p (apt-get install systemd udev dbus)"
    done
    # Keyed by contents: the base (files it has are left out), harness sources, the programs
    # and systemd's private libraries (the other libraries change along with them), the unit
    # files the list resolves to.
    systemd_key=$(
        {
            echo "$base_key"
            cat "$WCVM_DIR/build-initramfs.sh" "$WCVM_DIR/lib.sh"
            find "$sd_guest" -type f | LC_ALL=C sort | xargs cat
            units_list | while read -r unit rest; do
                case $rest in "-> "* | mask) ;; *) cat "$(unit_source "$unit")" ;; esac
            done
            wcvm_sha256 "${systemd_progs[@]}" "${systemd_bus_files[@]}" \
                /usr/lib/x86_64-linux-gnu/systemd/*.so
        } | wcvm_sha256 | cut -c1-16
    )
    sdpart="$cache/initramfs/systemd-$systemd_key.cpio.gz"
    sdpart_list="$cache/initramfs/systemd-$systemd_key.list"
    systemd_done() { part_done "$sdpart" "$sdpart_list"; }
    wcvm_once initramfs-systemd systemd_done build_systemd
fi

# --- kernel part ----------------------------------------------------------------------------

kpart="$kdir/initramfs-modules.cpio.gz"
build_kernel_part() {
    local root="$work/kernel"
    # shellcheck disable=SC1091  # generated: defines KVER
    source "$kdir/kernel.env"
    skeleton "$root"
    cp -a "$kdir/modules/usr/." "$root/usr/"
    mkdir -p "$root/boot" "$root/etc/wcbroker-vm"
    cp "$kdir/config" "$root/boot/config-$KVER"
    cp "$kdir/modules.list" "$root/etc/wcbroker-vm/modules.list"
    cpio_gz "$root" "$kpart.tmp.$$"
    mv -f "$kpart.tmp.$$" "$kpart"
}
kernel_part_done() { part_done "$kpart"; }
wcvm_once "initramfs-kernel-$(basename "$kdir")" kernel_part_done build_kernel_part

# --- extras part ----------------------------------------------------------------------------

root="$work/extras"
skeleton "$root"
for i in "${!trees[@]}"; do
    [[ -d "${trees[$i]}" ]] || wcvm_die "--tree: not a directory: ${trees[$i]}"
    trees[i]=$(cd "${trees[$i]}" && pwd -P)
    for d in usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu usr/lib lib usr/lib64 lib64 \
        usr/local/lib/x86_64-linux-gnu usr/local/lib; do
        [[ ! -d "${trees[$i]}/$d" ]] || tree_libpath+=${tree_libpath:+:}${trees[$i]}/$d
    done
    merge_tree "${trees[$i]}" "$root"
done
for spec in "${bins[@]}"; do
    src=${spec%%:*}
    if [[ "$spec" == *:* ]]; then
        dest=${spec#*:}
    else
        src=$(readlink -f "$src")
        if tree=$(in_tree "$src"); then
            dest=/${src#"$tree"/}
            case $dest in /bin/* | /sbin/* | /lib/* | /lib64/*) dest=/usr$dest ;; esac
        else
            case $src in
                /usr/* | /bin/* | /sbin/* | /lib*/* | /opt/*) dest=$src ;;
                *) dest=/usr/bin/$(basename "$src") ;;
            esac
        fi
    fi
    [[ -x "$src" ]] || wcvm_die "--bin: not an executable file: $src"
    install_with_libs "$src" "$root" "$dest"
done
for spec in "${libs[@]}"; do
    src=${spec%%:*} dest=${spec#*:}
    [[ "$spec" == *:* ]] || dest=$src
    [[ "$dest" == /* ]] || wcvm_die "--lib wants SRC[:/absolute/dest], got '$spec'"
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
if [[ ${#kmods[@]} -gt 0 ]]; then
    # The kernel part's module tree plus these, depmod'ed on the host: the extras are unpacked
    # after the kernel part, so this modules.dep replaces the kernel part's.
    wcvm_require_tools depmod modinfo
    # shellcheck disable=SC1091  # generated: defines KVER
    source "$kdir/kernel.env"
    mods="$work/kmods"
    mkdir -p "$mods"
    cp -a "$kdir/modules/usr/." "$mods/"
    mkdir -p "$mods/lib/modules/$KVER/updates/dkms"
    for ko in "${kmods[@]}"; do
        [[ -f "$ko" && "$ko" == *.ko ]] || wcvm_die "--kmod wants an existing .ko file, got '$ko'"
        vermagic=$(modinfo -F vermagic "$ko")
        [[ "$vermagic" == "$KVER "* ]] || wcvm_die "--kmod $ko: vermagic '$vermagic' is not for $KVER"
        cp "$ko" "$mods/lib/modules/$KVER/updates/dkms/"
    done
    depmod -b "$mods" "$KVER" || wcvm_die "depmod with the --kmod modules failed for $KVER"
    mkdir -p "$root/usr/lib/modules/$KVER"
    cp -a "$mods/lib/modules/$KVER/updates" "$mods/lib/modules/$KVER"/modules.* "$root/usr/lib/modules/$KVER/"
fi
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
# Files the cached parts already have with the same content (libc, ...) need not travel
# twice; a caller's file that differs (its own /etc/passwd, say) stays and wins, being
# unpacked later.  Where the systemd part replaces a base file, its version is the one seen.
# (Manifest lines: 64 hex digits, two spaces, the path.)
awk '{ sum[substr($0, 67)] = $1 } END { for (f in sum) print sum[f] "  " f }' \
    "$base_list" ${sdpart_list:+"$sdpart_list"} | LC_ALL=C sort >"$work/cached.list"
manifest "$root" | LC_ALL=C comm -12 - "$work/cached.list" | while read -r _ f; do
    rm -f "$root/$f"
done
cpio_gz "$root" "$work/extras.cpio.gz"

mkdir -p "$(dirname "$out")"
cat "$base" ${sdpart:+"$sdpart"} "$kpart" "$work/extras.cpio.gz" >"$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
wcvm_log "initramfs $out: $(du -h "$out" | cut -f1) (kernel $(basename "$kdir")${sdpart:+, systemd})"
