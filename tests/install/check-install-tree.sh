#!/bin/bash
# Install the build into a scratch DESTDIR and check the tree a package or
# an admin would get: every file where its consumer looks for it, the files
# agreeing with each other on names and paths, the unit as systemd-analyze
# judges it (check-systemd-unit.sh), the programs runnable, and the
# pkg-config file good enough to build a client against.
#
# Usage: check-install-tree.sh BUILD_DIR SOURCE_DIR
# Where things must go is read back from "meson introspect" and pkg-config,
# not repeated here, so the test follows -D options and distributions.
set -euo pipefail

build=${1:?build dir}
source_dir=${2:?source dir}
# TAP, so that a check skipped for a missing tool shows as skipped, with
# its reason, rather than hiding inside a passing test.
failures=0 checks=0
pass() { checks=$((checks + 1)); echo "ok $checks - $*"; }
fail() {
    checks=$((checks + 1))
    echo "not ok $checks - $*"
    failures=$((failures + 1))
}
skip() { checks=$((checks + 1)); echo "ok $checks - # SKIP $*"; }

destdir=$(mktemp -d "${TMPDIR:-/tmp}/wcbroker-install.XXXXXX")
trap 'rm -rf "$destdir"' EXIT
if ! meson install -C "$build" --no-rebuild --quiet --destdir "$destdir" >"$destdir.log" 2>&1; then
    sed 's/^/# /' "$destdir.log"
    rm -f "$destdir.log"
    echo "1..1"
    echo "not ok 1 - meson install --destdir"
    exit 1
fi
rm -f "$destdir.log"

# Every build option, read once: "meson introspect" takes a good part of a
# second each time.
declare -A options
while IFS= read -r -d '' name && IFS= read -r -d '' value; do
    options[$name]=$value
done < <(meson introspect --buildoptions "$build" |
    python3 -c 'import json, sys; sys.stdout.write("".join("%s\0%s\0" % (o["name"], o["value"]) for o in json.load(sys.stdin)))')
option() { printf '%s\n' "${options[$1]}"; }
prefix=$(option prefix)
under_prefix() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
sbindir=$(under_prefix "$(option sbindir)")
bindir=$(under_prefix "$(option bindir)")
libdir=$(under_prefix "$(option libdir)")
includedir=$(under_prefix "$(option includedir)")
datadir=$(under_prefix "$(option datadir)")
mandir=$(under_prefix "$(option mandir)")
unitdir=$(option systemdsystemunitdir)
[[ -n "$unitdir" ]] || unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
rulesdir=$(option udevrulesdir)
[[ -n "$rulesdir" ]] || rulesdir=$(pkg-config --variable=udevdir udev)/rules.d

expect_file() { # PATH MODE-DESCRIPTION
    local path=$destdir$1
    if [[ ! -f "$path" ]]; then
        fail "$1 is installed"
    elif [[ "$2" == executable && ! -x "$path" ]]; then
        fail "$1 is executable"
    else
        pass "$1"
    fi
}

expect_file "$sbindir/wcbrokerd" executable
expect_file "$bindir/wcbrokerctl" executable
expect_file "$libdir/libwcbroker.so.0" library
# The preload shim, off the linker's path, where wcbrokerctl exec looks.
expect_file "$libdir/wcbroker/libwcbroker-preload.so" library
if grep -qaF "$libdir/wcbroker/libwcbroker-preload.so" "$destdir$bindir/wcbrokerctl"; then
    pass "wcbrokerctl exec names the installed shim"
else
    fail "wcbrokerctl exec does not name $libdir/wcbroker/libwcbroker-preload.so"
fi
expect_file "$includedir/wcbroker.h" header
expect_file "$libdir/pkgconfig/wcbroker.pc" data
expect_file "$includedir/wcalias/wcalias.h" header
# The module's sources where DKMS looks for them: /usr/src/NAME-VERSION.
version=$(meson introspect --projectinfo "$build" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
for file in dkms.conf Kbuild Makefile compat.h wcalias.c uapi/wcalias.h; do
    expect_file "$prefix/src/wcalias-$version/$file" data
done
expect_file "$unitdir/wcbrokerd.service" data
expect_file "$rulesdir/70-wcbroker.rules" data
catalogdir=$(pkg-config --variable=catalogdir systemd)
expect_file "$catalogdir/wcbroker.catalog" data
expect_file "$datadir/dbus-1/system.d/org.wcbroker.Broker1.conf" data
expect_file "$datadir/dbus-1/system-services/org.wcbroker.Broker1.service" data
for interface in Broker1 Device1 Lease1; do
    expect_file "$datadir/dbus-1/interfaces/org.wcbroker.$interface.xml" data
done
for page in man1/wcbrokerctl.1 man3/libwcbroker.3 man5/wcbroker-policy.5 man8/wcbrokerd.8 man8/libwcbroker-preload.8; do
    expect_file "$mandir/$page" data
done
for example in ena-llq.toml mlx5-blueflame.toml nvme-cmb.toml wc-client.c devices/ena.toml; do
    expect_file "$datadir/doc/wcbroker/examples/$example" data
done
if [[ -d "$destdir/etc/wcbroker/policy.d" && ! -e "$destdir/etc/wcbroker/policy.toml" ]]; then
    pass "/etc/wcbroker/policy.d exists and no policy.toml is installed over the admin's"
else
    fail "/etc/wcbroker/policy.d without a policy.toml"
fi

# Nothing the build uses for itself (tests, benchmarks, fuzzers, static
# libraries) leaks into the tree.
strays=$(cd "$destdir" && find . -type f \( -name '*.a' -o -name 'test-*' -o -name 'bench-*' -o -name 'fuzz-*' \) | sort)
if [[ -z "$strays" ]]; then pass "no test, benchmark or static library installed"; else fail "stray files: $strays"; fi
writable=$(cd "$destdir" && find . \( -type f -o -type d \) -perm /022 | sort)
if [[ -z "$writable" ]]; then pass "nothing group- or world-writable"; else fail "writable by others: $writable"; fi
# As whole paths: a tree built in /src must not count /usr/src as a leak.
path_pattern() { printf '(?<![\\w./-])%s(?![\\w.-])' "$(printf '%s' "$1" | sed 's/[][\\.^$*+?(){}|/]/\\&/g')"; }
leaks=$(grep -rlP -e "$(path_pattern "$(realpath "$build")")" -e "$(path_pattern "$(realpath "$source_dir")")" "$destdir" \
    --exclude='*.so*' --exclude=wcbrokerd --exclude=wcbrokerctl || true)
if [[ -z "$leaks" ]]; then pass "no build or source path in installed text files"; else fail "build paths in: $leaks"; fi

# The files name each other: the unit starts the installed daemon, the
# activation file names the unit, and the bus name is the same everywhere.
unit=$destdir$unitdir/wcbrokerd.service
activation=$destdir$datadir/dbus-1/system-services/org.wcbroker.Broker1.service
key() { sed -n "s/^$2=//p" "$1" | head -n1; }
exec_start=$(key "$unit" ExecStart)
if [[ "$exec_start" == "$sbindir/wcbrokerd" && -x "$destdir$exec_start" ]]; then
    pass "ExecStart= is the installed daemon ($exec_start)"
else
    fail "ExecStart=$exec_start is not $sbindir/wcbrokerd"
fi
exec_reload=$(key "$unit" ExecReload)
if [[ "${exec_reload%% *}" == "$bindir/wcbrokerctl" ]]; then
    pass "ExecReload= runs the installed wcbrokerctl"
else
    fail "ExecReload=$exec_reload does not run $bindir/wcbrokerctl"
fi
bus_name=$(key "$unit" BusName)
if [[ "$bus_name" == org.wcbroker.Broker1 && "$(key "$activation" Name)" == "$bus_name" ]] &&
    grep -q "own=\"$bus_name\"" "$destdir$datadir/dbus-1/system.d/org.wcbroker.Broker1.conf"; then
    pass "unit, activation file and bus policy agree on $bus_name"
else
    fail "bus name differs between unit ($bus_name), activation file and bus policy"
fi
if [[ "$(key "$activation" SystemdService)" == wcbrokerd.service ]]; then
    pass "activation goes through systemd (SystemdService=wcbrokerd.service)"
else
    fail "activation file lacks SystemdService=wcbrokerd.service"
fi
if grep -q 'SYSTEMD_WANTS}+="wcbrokerd.service"' "$destdir$rulesdir/70-wcbroker.rules"; then
    pass "udev rules pull in wcbrokerd.service"
else
    fail "udev rules do not name wcbrokerd.service"
fi

# The unit as systemd-analyze sees it (verify, exposure score), on this
# same tree: its PASS:/FAIL: lines become checks, a skip a skipped one,
# anything else a comment.
unit_check_status=0
unit_check=$("$(dirname "$0")/check-systemd-unit.sh" "$destdir" 2>&1) || unit_check_status=$?
while IFS= read -r line; do
    case $line in
        PASS:\ *) pass "${line#PASS: }" ;;
        FAIL:\ *) fail "${line#FAIL: }" ;;
        SKIP:\ *) skip "${line#SKIP: }" ;;
        *) echo "# $line" ;;
    esac
done <<<"$unit_check"
if [[ $unit_check_status -ne 0 && $unit_check_status -ne 77 ]] && ! grep -q '^FAIL: ' <<<"$unit_check"; then
    fail "check-systemd-unit.sh ended with status $unit_check_status"
fi

# journalctl compiles the catalog and can explain a denial.
if command -v journalctl >/dev/null; then
    if journalctl --root="$destdir" --update-catalog 2>/dev/null &&
        journalctl --root="$destdir" --list-catalog d1073652c5574586a0239c95f9a4f2bd 2>/dev/null |
        grep -q 'denied a request'; then
        pass "journalctl compiles the catalog and finds the denial entry"
    else
        fail "journalctl --update-catalog / --list-catalog on the installed catalog"
    fi
else
    skip "journalctl is not installed; the catalog is not compiled"
fi

# The installed programs run from where they were put (meson strips the
# build tree's RUNPATH on install).
export LD_LIBRARY_PATH=$destdir$libdir
if "$destdir$sbindir/wcbrokerd" --version | grep -q '^wcbrokerd '; then pass "wcbrokerd --version runs"; else fail "wcbrokerd --version"; fi
if "$destdir$bindir/wcbrokerctl" --version | grep -q '^wcbrokerctl '; then pass "wcbrokerctl --version runs"; else fail "wcbrokerctl --version"; fi
if "$destdir$bindir/wcbrokerctl" check-policy "$destdir$datadir/doc/wcbroker/examples/ena-llq.toml" >/dev/null; then
    pass "the installed example policy passes the installed check-policy"
else
    fail "wcbrokerctl check-policy on the installed ena-llq.toml"
fi

# A client builds against the installed header and library, found through
# pkg-config alone.
sanitize=$(option b_sanitize)
if [[ "$sanitize" != none ]]; then
    skip "building a client against a -Db_sanitize=$sanitize library needs that sanitizer's runtime; checked in the plain build"
elif command -v cc >/dev/null; then
    export PKG_CONFIG_SYSROOT_DIR=$destdir
    export PKG_CONFIG_PATH=$destdir$libdir/pkgconfig
    if flags=$(pkg-config --cflags --libs wcbroker) && read -ra flag_list <<<"$flags" &&
        cc -std=c11 -Wall -Werror -o "$destdir/wc-client" \
            "$destdir$datadir/doc/wcbroker/examples/wc-client.c" "${flag_list[@]}"; then
        pass "the installed wc-client.c example builds with pkg-config wcbroker"
    else
        fail "building wc-client.c against the installed tree"
    fi
else
    skip "no C compiler to build a client against the installed tree"
fi

echo "1..$checks"
echo "# install tree: $failures failure(s)"
[[ $failures -eq 0 ]]
