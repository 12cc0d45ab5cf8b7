# shellcheck shell=bash
# Shared helpers for the wcbroker QEMU harness (tests/vm/).  Sourced, never run.
#
# Conventions every script here follows:
#   - log lines go to stderr, prefixed "wcvm:", so stdout stays usable for results/paths;
#   - a missing host tool is not a test failure: print "SKIP: <reason>" and exit 77
#     (the automake/meson convention for "skipped");
#   - everything downloaded or built lives in the cache dir, never in the repository.

# Guard against double sourcing (kernels.sh and build-initramfs.sh both source us).
if [[ -n "${WCVM_LIB_SOURCED:-}" ]]; then
    return 0
fi
WCVM_LIB_SOURCED=1
# Without this, a failure inside x=$(f) does not stop f: f would go on with empty values.
shopt -s inherit_errexit

WCVM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly WCVM_DIR
readonly WCVM_EXIT_SKIP=77
# Where wcvm_skip's "SKIP:" line goes: the sourcing script's standard
# output as it was at start, so that a skip inside x=$(f) still reaches the
# results instead of landing in x. A caller can point it elsewhere for one
# command: f {WCVM_RESULT_FD}>&1.
exec {WCVM_RESULT_FD}>&1

# wcvm_usage FILE : print FILE's leading comment block (its documentation) and exit 2.
wcvm_usage() {
    awk 'NR == 1 { next } /^# shellcheck/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1" >&2
    exit 2
}

wcvm_log() { printf 'wcvm: %s\n' "$*" >&2; }
wcvm_die() { printf 'wcvm: error: %s\n' "$*" >&2; exit 1; }

# Loud on purpose: CI logs are skimmed, and a silently skipped VM test looks like a pass.
wcvm_skip() {
    printf '\n*** SKIP: %s ***\n' "$*" >&2
    printf 'SKIP: %s\n' "$*" >&"$WCVM_RESULT_FD"
    exit "$WCVM_EXIT_SKIP"
}

# wcvm_require_tools TOOL... : skip (77) naming the first tool that is missing.
wcvm_require_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || wcvm_skip "required tool '$t' not found (install it: see tests/vm/README.md)"
    done
}

# Cache directory.  The default is system-wide so developers and CI on one machine share the
# downloads; an unprivileged user who cannot write there falls back to their own cache.
wcvm_cache_dir() {
    local dir=${WCBROKER_VM_CACHE:-/var/cache/wcbroker-vm}
    if [[ -z "${WCBROKER_VM_CACHE:-}" ]] && ! { mkdir -p "$dir" 2>/dev/null && [[ -w "$dir" ]]; }; then
        dir=${XDG_CACHE_HOME:-$HOME/.cache}/wcbroker-vm
    fi
    mkdir -p "$dir" || wcvm_die "cannot create cache dir $dir (set WCBROKER_VM_CACHE)"
    printf '%s\n' "$dir"
}

# wcvm_once LOCK DONE BUILD... : run BUILD... unless the function DONE says the work is done;
# under the exclusive lock LOCK, so that parallel test runs do not build or download into the
# same cache entry at once, and asking DONE again once the lock is held, since another run may
# have done the work while this one waited.  BUILD runs in a subshell (errexit still applies)
# and the lock is released when it ends.
wcvm_once() {
    local lock=$1 done=$2 cache
    shift 2
    ! "$done" || return 0
    cache=$(wcvm_cache_dir)
    mkdir -p "$cache/locks"
    (
        exec {fd}>"$cache/locks/$lock.lock"
        flock "$fd"
        if "$done"; then
            exit 0
        fi
        "$@"
    )
}

wcvm_sha256() { sha256sum "$@" | awk '{print $1}'; }

# --- apt ------------------------------------------------------------------------------------

# Each apt-cache call costs 0.5-1 s here (no pkgcache.bin), which dominated a warm run.  An
# answer can only change when the package lists change, so remember answers keyed by the
# lists' names and mtimes.
wcvm_apt_stamp() {
    local lists=/var/lib/apt/lists
    # A kernel line of other suites has its own apt configuration (kernels.sh wcvm_apt_root).
    [[ -z "${APT_CONFIG:-}" ]] || lists="$(dirname "$APT_CONFIG")/state/lists"
    { stat -c "%n %Y" "$lists"/*Packages* 2>/dev/null || true; } | wcvm_sha256
}

# wcvm_apt_memo KEY COMMAND... : print COMMAND's output, from the memo if the lists did not
# change since it was stored.  Empty output (unknown package) is not remembered.
wcvm_apt_memo() {
    local key=$1 cache stamp file out
    shift
    cache=$(wcvm_cache_dir)
    stamp=$(wcvm_apt_stamp)
    file="$cache/apt-memo/$key"
    if [[ -f "$file" && "$(head -n1 "$file")" == "$stamp" ]]; then
        tail -n +2 "$file"
        return 0
    fi
    out=$("$@")
    if [[ -n "$out" ]]; then
        mkdir -p "$cache/apt-memo"
        printf '%s\n%s\n' "$stamp" "$out" >"$file.$$"
        mv -f "$file.$$" "$file"
    fi
    printf '%s\n' "$out"
}

# apt-cache answers from the local lists only; no output means the lists are missing/stale.
wcvm_apt_candidate() {
    apt-cache policy "$1" 2>/dev/null | awk '/^  Candidate:/ {print $2}' | grep -v '^(none)$' || true
}

wcvm_apt_updated=0
# apt-get update at most once per process, and only when something actually failed.
wcvm_apt_update_once() {
    [[ $wcvm_apt_updated == 0 ]] || return 1
    wcvm_apt_updated=1
    if [[ $(id -u) != 0 ]]; then
        wcvm_log "apt lists look missing or stale, and only root can run apt-get update"
        return 1
    fi
    wcvm_log "apt lists missing or stale: running apt-get update"
    apt-get update -qq >&2
}

# wcvm_apt_download PKG VERSION DIR : download PKG=VERSION into DIR and print the .deb path.
# Retries once after apt-get update, because a 404 usually means the lists are stale.
wcvm_apt_download() {
    local pkg=$1 ver=$2 dir=$3 opts=()
    # `cd ""` succeeds in bash and would download into the current directory.
    [[ -n "$dir" && -d "$dir" ]] || wcvm_die "download dir '$dir' missing"
    # As root apt drops to user _apt for downloads and warns when _apt cannot write the
    # target dir; the cache dir is root's, so tell apt to stay root (what it falls back to).
    [[ $(id -u) != 0 ]] || opts=(-o APT::Sandbox::User=root)
    if ! (cd "$dir" && apt-get download -q "${opts[@]}" "$pkg=$ver" >&2); then
        wcvm_apt_update_once || wcvm_die "apt-get download $pkg=$ver failed"
        (cd "$dir" && apt-get download -q "${opts[@]}" "$pkg=$ver" >&2) ||
            wcvm_die "apt-get download $pkg=$ver failed after apt-get update"
    fi
    local deb
    deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)
    [[ -n "$deb" ]] || wcvm_die "apt-get download $pkg left no .deb in $dir"
    printf '%s\n' "$deb"
}

# wcvm_deb_entry KIND DIR MARK FINISH PKG=VERSION... : make the cache entry DIR once (see
# wcvm_once), complete when DIR/MARK exists: download every package, extract them all into
# one tree, and run FINISH TREE ENTRY, which leaves the finished entry (with MARK) in ENTRY;
# ENTRY then replaces DIR.  KIND names the lock (KIND-PKG, PKG the first package).  Several
# packages make one entry where Debian splits what one needs (an image and its modules).
wcvm_deb_entry() {
    local kind=$1 entry=$2 mark=$3 finish=$4
    shift 4
    local first=${1%%=*}
    wcvm_once "$kind-$first" wcvm_deb_entry_done wcvm_deb_entry_build "$entry" "$finish" "$first" "$@"
}

# Called by wcvm_once from inside wcvm_deb_entry, whose ENTRY and MARK it sees.
wcvm_deb_entry_done() { [[ -e "$entry/$mark" ]]; }

wcvm_deb_entry_build() {
    local dir=$1 finish=$2 first=$3 tmp spec deb
    shift 3
    # Fixed name under the lock: a run killed mid-download leaves debris the next run
    # removes, instead of a growing pile of 100 MB temp dirs.
    tmp="$(dirname "$dir")/.tmp-$first"
    rm -rf "$tmp"
    mkdir -p "$tmp/debs"
    for spec in "$@"; do
        wcvm_log "downloading ${spec%%=*} ${spec#*=}"
        deb=$(wcvm_apt_download "${spec%%=*}" "${spec#*=}" "$tmp/debs")
        wcvm_log "extracting $(basename "$deb")"
        dpkg-deb -x "$deb" "$tmp/root"
    done
    "$finish" "$tmp/root" "$tmp/entry"
    rm -rf "$dir"
    mv "$tmp/entry" "$dir"
    rm -rf "$tmp"
}

# wcvm_deb_tree PKG : download and dpkg-deb -x PKG (candidate version) into the cache once;
# print the extracted tree.  Warm cache: no network, one apt-cache call.
# Used for udev; kernels are trimmed on the way (kernels.sh).
wcvm_deb_tree() {
    local pkg=$1 cache ver dir
    cache=$(wcvm_cache_dir)
    ver=$(wcvm_apt_memo "candidate-$pkg" wcvm_apt_candidate "$pkg")
    if [[ -z "$ver" ]]; then
        # Lists missing: reuse whatever version we extracted before, else update and retry.
        if [[ -L "$cache/debs/$pkg" && -e "$cache/debs/$pkg/.complete" ]]; then
            readlink -f "$cache/debs/$pkg"
            return 0
        fi
        wcvm_apt_update_once || true
        ver=$(wcvm_apt_candidate "$pkg")
        [[ -n "$ver" ]] || wcvm_die "apt knows no package $pkg"
    fi
    dir="$cache/debs/${pkg}_${ver//:/%3a}"
    mkdir -p "$cache/debs"
    wcvm_deb_entry deb "$dir" .complete wcvm_deb_tree_finish "$pkg=$ver"
    ln -sfn "$(basename "$dir")" "$cache/debs/$pkg"
    printf '%s\n' "$dir"
}

# The extracted tree is the entry.
wcvm_deb_tree_finish() {
    touch "$1/.complete"
    mv "$1" "$2"
}

# --- helpers built from C (setids, wc-poke, test fixtures) ------------------------------------

# wcvm_results_as_tap FILE : FILE's PASS:/FAIL:/SKIP: lines as TAP for meson, one test each.
wcvm_results_as_tap() {
    local n=0 line
    echo "1..$(wc -l <"$1")"
    while IFS= read -r line; do
        n=$((n + 1))
        case $line in
        PASS:*) echo "ok $n - ${line#PASS: }" ;;
        SKIP:*) echo "ok $n - ${line#SKIP: } # SKIP" ;;
        *) echo "not ok $n - ${line#FAIL: }" ;;
        esac
    done <"$1"
}

# wcvm_boot_failed RESULTS BOOT_RESULTS WORKDIR LABEL WHAT : after a run-vm.sh boot that failed:
# a FAIL line in RESULTS when the boot's own results have none (the guest did not finish), and
# where WHAT's logs were kept, with the end of run-vm.sh's log, on stderr.
wcvm_boot_failed() {
    local results=$1 boot_results=$2 workdir=$3 label=$4 what=$5
    grep -q '^FAIL:' "$boot_results" ||
        echo "FAIL: [$label] the guest did not finish (timeout or panic)" >>"$results"
    echo "$what on $label failed; console and logs kept in $workdir" >&2
    tail -60 "$workdir/run-vm.stderr" >&2
}

# wcvm_helper NAME : build tests/vm/NAME.c statically into the cache (keyed by source hash)
# and print the binary path.  Static so it needs nothing in the guest and runs on the host too.
# NAME may name a subdirectory (scenarios/sd-fixture).
wcvm_helper() {
    wcvm_build_helper "$1" -static
}

# wcvm_helper_dyn NAME LINKARG... : the same, linked dynamically against LINKARG (e.g.
# -lsystemd, for which Debian ships no static library).  Give the result to build-initramfs.sh
# with --bin so that its libraries go along.
wcvm_helper_dyn() {
    local name=$1
    shift
    wcvm_build_helper "$name" "$@"
}

# wcvm_build_helper NAME -static | NAME LINKARG... : what the two above share.  The key of a
# static helper is its source's hash alone (as before dynamic ones existed), a dynamic one's
# also covers the link arguments; either also covers the files its `#include "..."` lines name
# (wcalias-check.c's kmod/uapi/wcalias.h), when it has any.
wcvm_build_helper() {
    local name=$1 src cache out key inc includes=()
    shift
    src="$WCVM_DIR/$name.c"
    [[ -f "$src" ]] || wcvm_die "no helper source $src"
    cache=$(wcvm_cache_dir)
    # Headers beside the source; one found through -I (a library's, for a
    # dynamic helper) is the library's business, not the cache key's.
    while read -r inc; do
        [[ ! -f "$(dirname "$src")/$inc" ]] || includes+=("$(dirname "$src")/$inc")
    done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$src")
    if [[ "$*" == -static && ${#includes[@]} == 0 ]]; then
        key=$(wcvm_sha256 "$src" | cut -c1-16)
    else
        key=$({ cat "$src" "${includes[@]}"; printf '%s\n' "$@"; } | wcvm_sha256 | cut -c1-16)
    fi
    out="$cache/helpers/$(basename "$name")-$key"
    if [[ ! -x "$out" ]]; then
        wcvm_require_tools gcc
        mkdir -p "$cache/helpers"
        if [[ "$*" == -static ]]; then
            gcc -static -O2 -Wall -Wextra -Werror -o "$out.tmp.$$" "$src" >&2 ||
                wcvm_die "building $name failed (gcc -static needs libc6-dev)"
        else
            gcc -O2 -Wall -Wextra -Werror -o "$out.tmp.$$" "$src" "$@" >&2 ||
                wcvm_die "building $name failed (gcc ... $*: is its -dev package installed?)"
        fi
        mv -f "$out.tmp.$$" "$out"
    fi
    printf '%s\n' "$out"
}
