#!/usr/bin/env bash
# `dkms add` + `dkms build` of kmod/ (its dkms.conf, as a package would ship it) against the
# extracted headers of a guest kernel of the VM harness (build-kmod.sh --headers): the DKMS
# path an admin's machine takes, without touching this machine's DKMS state.  Everything goes
# to a temporary --dkmstree/--sourcetree/--installtree and --kernelsourcedir; the test also
# checks that /var/lib/dkms and /lib/modules are unchanged afterwards.
#
# Usage: dkms-build.sh [--tap] [KERNEL...]     (default: 6.1-cloud; its compiler must be the
#                                                host's: gcc 12 for bookworm kernels)
# Exit: 0 all passed, 1 a failure, 77 dkms, the headers or the compiler missing (SKIP, why).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
kmod=$(cd "$here/../../kmod" && pwd)

tap=0
if [[ ${1:-} == --tap ]]; then
    tap=1
    shift
fi
kernels=("$@")
[[ ${#kernels[@]} -gt 0 ]] || kernels=(6.1-cloud)

skip() {
    printf '\n*** SKIP: %s ***\n' "$*" >&2
    if [[ $tap == 1 ]]; then
        echo "1..0 # SKIP $*"
        exit 0
    fi
    echo "SKIP: $*"
    exit 77
}
command -v dkms >/dev/null || skip "dkms is not installed (apt-get install dkms; scripts/install-deps.sh test)"
[[ -f "$kmod/dkms.conf" ]] || skip "kmod/dkms.conf is missing"

results=() failed=0
result() {
    results+=("$1: $2")
    [[ $1 == PASS ]] || failed=1
}
# What dkms could change on this machine, as one checksum.
host_state() {
    { find /var/lib/dkms /lib/modules -printf '%p %s %T@\n' 2>/dev/null || true; } | LC_ALL=C sort | wcvm_sha256
}

# The package's name and version, as DKMS reads them.
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' "$kmod/dkms.conf")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$kmod/dkms.conf")
[[ -n "$name" && -n "$version" ]] || skip "kmod/dkms.conf names no PACKAGE_NAME/PACKAGE_VERSION"

work=$(mktemp -d "${TMPDIR:-/tmp}/wcvm-dkms.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
for kernel in "${kernels[@]}"; do
    set +e
    kdir=$("$here/build-kmod.sh" --headers "$kernel" {WCVM_RESULT_FD}>&1 2>"$work/headers.log")
    status=$?
    set -e
    if [[ $status == 77 ]]; then
        skip "$(sed -n 's/^SKIP: //p' <<<"$kdir" | head -n1)"
    elif [[ $status != 0 ]]; then
        cat "$work/headers.log" >&2
        result FAIL "[$kernel] dkms: the kernel's headers could not be fetched"
        continue
    fi
    kdir=$(tail -n1 <<<"$kdir")
    kver=$(basename "$kdir")
    kver=${kver#linux-headers-}
    cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$kdir/.config")
    command -v "$cc" >/dev/null || skip "$kver was built with $cc, which this machine lacks (dkms-build.sh builds on the host)"

    rm -rf --one-file-system "${work:?}"/{tree,src,install}
    mkdir -p "$work/tree" "$work/src/$name-$version" "$work/install"
    cp -a "$kmod/." "$work/src/$name-$version/"
    trees=(--dkmstree "$work/tree" --sourcetree "$work/src" --installtree "$work/install")
    before=$(host_state)
    t0=$(date +%s.%N)
    if dkms add -m "$name" -v "$version" "${trees[@]}" >"$work/dkms.log" 2>&1 &&
        dkms build -m "$name" -v "$version" -k "$kver" --kernelsourcedir "$kdir" "${trees[@]}" \
            >>"$work/dkms.log" 2>&1; then
        ko=$(find "$work/tree/$name/$version/$kver" -name "$name.ko*" | head -n1)
        vermagic=$( [[ -z "$ko" ]] || modinfo -F vermagic "$ko")
        if [[ "$vermagic" == "$kver "* ]]; then
            result PASS "[$kver] dkms add + build of kmod/ ($name $version) against the extracted headers: $(basename "$ko"), vermagic '$vermagic' ($(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN {printf "%.1f", t1 - t0}') s)"
        else
            result FAIL "[$kver] dkms build made no $name.ko for $kver (found '${ko:-nothing}', vermagic '$vermagic')"
            cat "$work/dkms.log" >&2
        fi
        status_line=$(dkms status -m "$name" -v "$version" -k "$kver" "${trees[@]}" 2>&1 | head -n1)
        if [[ "$status_line" == *"$kver"*": built"* ]]; then
            result PASS "[$kver] dkms status: $status_line"
        else
            result FAIL "[$kver] dkms status says '$status_line', not built for $kver"
        fi
    else
        result FAIL "[$kver] dkms add/build of kmod/ failed (log on stderr)"
        cat "$work/dkms.log" >&2
        find "$work/tree" -name make.log -exec cat {} + >&2 || true
    fi
    if [[ "$(host_state)" == "$before" ]]; then
        result PASS "[$kver] dkms left /var/lib/dkms and /lib/modules of this machine unchanged"
    else
        result FAIL "[$kver] dkms changed /var/lib/dkms or /lib/modules of this machine"
    fi
done

if [[ $tap == 1 ]]; then
    echo "1..${#results[@]}"
    for i in "${!results[@]}"; do
        line=${results[$i]}
        case $line in
        PASS:*) echo "ok $((i + 1)) - ${line#PASS: }" ;;
        *) echo "not ok $((i + 1)) - ${line#FAIL: }" ;;
        esac
    done
    exit 0
fi
printf '%s\n' "${results[@]}"
exit "$failed"
