#!/usr/bin/env bash
# Fetch and cache Debian kernels for the VM harness, outside the repository.
#
# Usage (as a script):
#   kernels.sh fetch KERNEL...   print one cached kernel dir per KERNEL (downloads if cold)
#   kernels.sh list              list cached kernels
#   kernels.sh aliases           list the short names
# Usage (sourced):  source tests/vm/kernels.sh; dir=$(wcvm_kernel_fetch 6.12)
#
# KERNEL is an alias (6.1-cloud, 6.1, 6.12), a Debian package name (meta or versioned), or an
# existing kernel dir (returned unchanged).  A kernel dir contains:
#   vmlinuz, config, kernel.env (KVER PKG VERSION META),
#   modules/usr/lib/modules/KVER/...   the vfio modules and their dependencies, decompressed,
#                                      with a modules.dep from depmod for this subset,
#   modules.list                       modules the guest should modprobe, in order.
#
# Environment:
#   WCBROKER_VM_CACHE     cache dir (default /var/cache/wcbroker-vm)
#   WCVM_EXTRA_MODULES    more module names to include and load (space separated)
# Exit codes: 0 ok, 1 error, 2 usage, 77 a required tool is missing.
#
# Why not install the package: that would write the host's /boot and run initramfs hooks.
# Why decompress modules: 6.12 ships .ko.xz and busybox modprobe/insmod cannot be relied on to
# decompress; plain .ko also compresses better inside the gzip initramfs.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Modules the harness loads.  vfio_virqfd is a module only up to 6.1 (merged into vfio later).
WCVM_KERNEL_MODULES_REQUIRED="vfio vfio_iommu_type1 vfio_pci vfio_pci_core irqbypass"
WCVM_KERNEL_MODULES_OPTIONAL="vfio_virqfd"

# The kernels known by a short name: "NAME[|OTHER-NAME...] SUITES PACKAGE", PACKAGE being
# what apt resolves to the current versioned image, and SUITES where apt looks for it: "host"
# for the host's own apt sources, else Debian suites (comma separated) reached through an apt
# configuration and state of the harness's own (wcvm_apt_root), never the host's sources.
# Another kernel is another line (and its name in the vm tests of tests/meson.build).
WCVM_KERNEL_TABLE=(
    "6.1-cloud|cloud host linux-image-cloud-amd64"
    "6.1 host linux-image-amd64"
    "6.12 host linux-image-6.12-amd64"
    "6.12-trixie trixie,trixie-security linux-image-cloud-amd64"
    "7.3 trixie-backports linux-image-cloud-amd64"
)

# Alias -> "SUITES PACKAGE"; anything else is taken as a package name of the host's sources.
wcvm_kernel_meta() {
    local line names
    for line in "${WCVM_KERNEL_TABLE[@]}"; do
        names="|${line%% *}|"
        if [[ "$names" == *"|$1|"* ]]; then
            echo "${line#* }"
            return 0
        fi
    done
    echo "host $1"
}

# wcvm_apt_root SUITES : an apt configuration of the harness's own that sees only SUITES of
# Debian's archive (lists and downloads under the cache, the host's apt untouched); prints
# the file for APT_CONFIG.  The host's apt.conf.d (proxies) still applies.
wcvm_apt_root() {
    local suites=$1 root suite uri
    root="$(wcvm_cache_dir)/apt/$suites"
    mkdir -p "$root/state/lists/partial" "$root/cache/archives/partial" "$root/sources.list.d"
    touch "$root/state/status"
    : >"$root/sources.list.new"
    for suite in ${suites//,/ }; do
        uri=http://deb.debian.org/debian
        [[ $suite != *-security ]] || uri=http://deb.debian.org/debian-security
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" >>"$root/sources.list.new"
    done
    mv -f "$root/sources.list.new" "$root/sources.list"
    printf '%s\n' "Dir::Etc::SourceList \"$root/sources.list\";" \
        "Dir::Etc::SourceParts \"$root/sources.list.d\";" "Dir::State \"$root/state\";" \
        "Dir::State::status \"$root/state/status\";" "Dir::Cache \"$root/cache\";" >"$root/apt.conf.new"
    mv -f "$root/apt.conf.new" "$root/apt.conf"
    printf '%s\n' "$root/apt.conf"
}

# Follow "Depends: linux-image-..." (apt-cache depends) until a package has none: that one
# ships the vmlinuz.  Prints "PKG VERSION", or nothing when the apt lists do not know it.
# One `depends` per hop and one `show` for the final version (each apt-cache call is slow;
# wcvm_apt_memo spares them while the lists do not change).
wcvm_kernel_resolve() {
    local pkg=$1 next i ver
    for i in 1 2 3 4; do
        next=$(apt-cache depends "$pkg" 2>/dev/null |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-/ && $2 !~ /-unsigned$/ {print $2; exit}') ||
            return 0
        [[ -n "$next" ]] || break
        [[ $i -lt 4 ]] || wcvm_die "dependency chain from $1 too long"
        pkg=$next
    done
    ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ {print $2; exit}') ||
        return 0
    [[ -n "$ver" ]] || return 0
    # Debian 13's newer kernels split the image: linux-image-* only depends on
    # linux-binary-* (vmlinuz), linux-modules-* and linux-base-* (config,
    # modules.builtin) of the same version, all under usr/lib/modules/KVER.
    local parts
    parts=$(apt-cache depends "$pkg" 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-(binary|modules|base)-[0-9]/ {print $2}' | tr '\n' ' ') || true
    echo "$pkg $ver $parts"
}

wcvm_modname() {
    local m
    m=$(basename "$1")
    m=${m%%.ko*}
    echo "${m//-/_}"
}

# wcvm_kernel_trim ROOT DEST : from an extracted linux-image tree, keep only what the guest
# needs: vmlinuz, config, and the closure of the wanted modules over modules.dep.
wcvm_kernel_trim() {
    local root=$1 dest=$2 vmlinuz krel moddir m want=() have
    local config
    vmlinuz=$( (find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null || true) | head -n1)
    if [[ -n "$vmlinuz" ]]; then
        krel=${vmlinuz##*/vmlinuz-}
        config="$root/boot/config-$krel"
    else
        # The split packages (linux-binary-*) keep it beside the modules.
        vmlinuz=$(find "$root/usr/lib/modules" -mindepth 2 -maxdepth 2 -name vmlinuz 2>/dev/null | head -n1)
        [[ -n "$vmlinuz" ]] || wcvm_die "no boot/vmlinuz-* nor usr/lib/modules/*/vmlinuz in the packages"
        krel=$(basename "$(dirname "$vmlinuz")")
        config="$(dirname "$vmlinuz")/config"
    fi
    local base=""
    for base in "$root" "$root/usr" ""; do
        [[ -z "$base" || -d "$base/lib/modules/$krel/kernel" ]] && break
    done
    [[ -n "$base" ]] || wcvm_die "no lib/modules/$krel in package"
    moddir="$base/lib/modules/$krel"
    # The .deb does not ship modules.dep (its postinst runs depmod): generate it for the
    # whole extracted tree, exactly as an install would, then read it.
    [[ -f "$moddir/modules.dep" ]] || depmod -b "$base" "$krel" ||
        wcvm_die "depmod on the extracted $krel tree failed"

    mkdir -p "$dest"
    cp "$vmlinuz" "$dest/vmlinuz"
    cp "$config" "$dest/config"

    # name -> path (relative to moddir) and name -> deps, from modules.dep.
    declare -A path deps
    local line file rest
    while IFS= read -r line; do
        file=${line%%:*}
        rest=${line#*:}
        m=$(wcvm_modname "$file")
        path[$m]=$file
        deps[$m]=$rest
    done <"$moddir/modules.dep"

    for m in $WCVM_KERNEL_MODULES_REQUIRED ${WCVM_EXTRA_MODULES:-} $WCVM_KERNEL_MODULES_OPTIONAL; do
        m=${m//-/_}
        if [[ -n "${path[$m]:-}" ]]; then
            want+=("$m")
        elif grep -q "/${m//_/[-_]}\.ko" "$moddir/modules.builtin" 2>/dev/null; then
            wcvm_log "$krel: $m is built in"
        elif [[ " $WCVM_KERNEL_MODULES_OPTIONAL " == *" $m "* ]]; then
            wcvm_log "$krel: optional module $m does not exist (fine)"
        else
            wcvm_die "$krel: module $m neither in modules.dep nor built in"
        fi
    done

    # Transitive closure; modules.dep already lists the full closure per module, but walking
    # it keeps us correct if a future depmod emits only direct dependencies.
    declare -A seen
    local queue=("${want[@]}") d
    while [[ ${#queue[@]} -gt 0 ]]; do
        m=${queue[0]}
        queue=("${queue[@]:1}")
        [[ -z "${seen[$m]:-}" ]] || continue
        seen[$m]=1
        for d in ${deps[$m]}; do
            queue+=("$(wcvm_modname "$d")")
        done
    done

    local out="$dest/modules/usr/lib/modules/$krel"
    mkdir -p "$out"
    for m in "${!seen[@]}"; do
        file=${path[$m]}
        mkdir -p "$out/$(dirname "$file")"
        case $file in
            *.ko.xz) xz -dc "$moddir/$file" >"$out/${file%.xz}" ;;
            *.ko.zst) zstd -qdc "$moddir/$file" >"$out/${file%.zst}" ;;
            *.ko.gz) gzip -dc "$moddir/$file" >"$out/${file%.gz}" ;;
            *) cp "$moddir/$file" "$out/$file" ;;
        esac
    done
    for have in modules.builtin modules.builtin.modinfo modules.order; do
        [[ ! -f "$moddir/$have" ]] || cp "$moddir/$have" "$out/"
    done
    # modules.dep for exactly this subset, pointing at the decompressed files.
    depmod -b "$dest/modules/usr" "$krel" ||
        wcvm_die "depmod failed for $krel"
    printf '%s\n' "${want[@]}" >"$dest/modules.list"
    printf 'KVER=%q\n' "$krel" >"$dest/kernel.env"
    have=$(printf '%s ' "${!seen[@]}")
    wcvm_log "$krel: kept modules: $have"
}

# wcvm_kernel_finish TREE ENTRY : the kernel dir ENTRY from the extracted packages, for
# wcvm_deb_entry inside wcvm_kernel_fetch (whose PKG, VER and META it records).
wcvm_kernel_finish() {
    wcvm_kernel_trim "$1" "$2"
    printf 'PKG=%q\nVERSION=%q\nMETA=%q\n' "$pkg" "$ver" "$meta" >>"$2/kernel.env"
}

# wcvm_kernel_fetch KERNEL : print the cached kernel dir, downloading on a cold cache.
wcvm_kernel_fetch() {
    local arg=$1 meta suites link cache resolved pkg ver parts dir
    if [[ -d "$arg" && -f "$arg/kernel.env" ]]; then
        (cd "$arg" && pwd)
        return 0
    fi
    wcvm_require_tools apt-get apt-cache dpkg-deb depmod xz flock
    read -r suites meta <<<"$(wcvm_kernel_meta "$arg")"
    cache=$(wcvm_cache_dir)
    mkdir -p "$cache/kernels"
    link=$meta
    if [[ $suites != host ]]; then
        local -x APT_CONFIG
        APT_CONFIG=$(wcvm_apt_root "$suites")
        link="$meta@$suites"
    fi

    resolved=$(wcvm_apt_memo "kernel-$link" wcvm_kernel_resolve "$meta")
    if [[ -z "$resolved" ]]; then
        # The lists do not know the package: reuse the last resolution if we have one (a warm
        # cache must work offline), otherwise the lists are missing and need an update.
        if [[ -e "$cache/kernels/$link/kernel.env" ]]; then
            wcvm_log "apt does not know $meta; using cached $(readlink "$cache/kernels/$link")"
            (cd "$cache/kernels/$link" && pwd -P)
            return 0
        fi
        wcvm_apt_update_once || true
        resolved=$(wcvm_kernel_resolve "$meta")
        [[ -n "$resolved" ]] || wcvm_die "apt knows no kernel package '$meta'"
    fi
    read -r pkg ver parts <<<"$resolved"
    dir="$cache/kernels/${pkg}_${ver//:/%3a}"
    # A different module set is a different cache entry, not a silently stale one.
    if [[ -n "${WCVM_EXTRA_MODULES:-}" ]]; then
        dir+="+m$(echo "$WCVM_EXTRA_MODULES" | tr ' ' '\n' | sort -u | wcvm_sha256 | cut -c1-8)"
    fi

    local specs=("$pkg=$ver") part
    for part in $parts; do specs+=("$part=$ver"); done
    wcvm_deb_entry kernel "$dir" kernel.env wcvm_kernel_finish "${specs[@]}"
    # Remember the resolution so a warm cache works without apt lists.
    [[ -n "${WCVM_EXTRA_MODULES:-}" ]] || ln -sfn "$(basename "$dir")" "$cache/kernels/$link"
    printf '%s\n' "$dir"
}

wcvm_kernel_main() {
    set -euo pipefail
    local cmd=${1:-}
    shift || true
    case $cmd in
        fetch)
            [[ $# -gt 0 ]] || { echo "usage: $0 fetch KERNEL..." >&2; exit 2; }
            local k
            for k in "$@"; do wcvm_kernel_fetch "$k"; done
            ;;
        list)
            local cache d
            cache=$(wcvm_cache_dir)
            for d in "$cache"/kernels/*/kernel.env; do
                [[ -e "$d" ]] || continue
                [[ ! -L "$(dirname "$d")" ]] || continue
                # shellcheck disable=SC2016  # expanded by the inner bash
                bash -c 'source "$1" && echo "$KVER $PKG $VERSION ${1%/*}"' _ "$d"
            done
            ;;
        aliases)
            local line
            for line in "${WCVM_KERNEL_TABLE[@]}"; do
                printf '%-11s -> %s\n' "${line%%[| ]*}" "${line#* }"
            done
            ;;
        *)
            wcvm_usage "${BASH_SOURCE[0]}"
            ;;
    esac
}

# Run only when executed, so the file can also be sourced for its functions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    wcvm_kernel_main "$@"
fi
