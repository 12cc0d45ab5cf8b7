#!/bin/bash
# wcbrokerd.service as installed: "systemd-analyze verify" finds nothing
# wrong with it, and "systemd-analyze security --offline=yes" rates its
# exposure at or under the ceiling docs/security.md promises.
#
# Usage: check-systemd-unit.sh DESTDIR [CEILING]   (CEILING default 2.0)
# DESTDIR is a "meson install --destdir" tree; check-install-tree.sh runs
# this on the tree it installed. Prints PASS:/FAIL: lines; exit 77 (a skip,
# with the reason) where systemd-analyze is missing.
set -euo pipefail

destdir=${1:?installed tree}
ceiling=${2:-2.0}
if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: systemd-analyze is not installed (apt-get install systemd); the unit is not checked"
    exit 77
fi

installed_unit=$(find "$destdir" -name wcbrokerd.service -path '*/system/*' | head -n1)
[[ -n "$installed_unit" ]] || { echo "FAIL: no wcbrokerd.service installed"; exit 1; }

# verify wants the programs the unit runs to exist at the paths it names;
# they exist inside DESTDIR, so check a copy that points there. The man
# pages for Documentation= are found the same way.
unit_dir=$(mktemp -d "${TMPDIR:-/tmp}/wcbroker-unit.XXXXXX")
trap 'rm -rf "$unit_dir"' EXIT
sed -e "s|^\(Exec[A-Za-z]*=\)\([-@:+!]*\)/|\1\2$destdir/|" "$installed_unit" >"$unit_dir/wcbrokerd.service"
MANPATH=$(find "$destdir" -type d -name man -path '*/share/man' | head -n1)
export MANPATH
failures=0
if output=$(systemd-analyze verify --man=yes "$unit_dir/wcbrokerd.service" 2>&1) && [[ -z "$output" ]]; then
    echo "PASS: systemd-analyze verify wcbrokerd.service: no complaint"
else
    echo "$output"
    echo "FAIL: systemd-analyze verify wcbrokerd.service"
    failures=$((failures + 1))
fi

# The daemon only opens PCI resource files read-write; CPU and memory
# hotplug (/sys/devices/system) and virtual devices stay read-only.
for read_only in /sys/devices/system /sys/devices/virtual; do
    if grep -Eq "^ReadOnlyPaths=(.* )?-?$read_only( |\$)" "$installed_unit"; then
        echo "PASS: $read_only is read-only for the daemon"
    else
        echo "FAIL: $read_only is writable for the daemon (ReadWritePaths=/sys/devices without ReadOnlyPaths=$read_only)"
        failures=$((failures + 1))
    fi
done

report=$(systemd-analyze security --offline=yes --no-pager "$installed_unit" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for wcbrokerd.service: \([0-9.]*\).*/\1/p' <<<"$report")
if [[ -z "$score" ]]; then
    echo "$report"
    echo "FAIL: systemd-analyze security printed no exposure level"
    exit 1
fi
# What is still open, for whoever wants to tighten it further.
grep -E '^✗' <<<"$report" | sed 's/^/  open: /' || true
if awk -v s="$score" -v c="$ceiling" 'BEGIN { exit !(s <= c) }'; then
    echo "PASS: systemd-analyze security: exposure $score (ceiling $ceiling)"
else
    echo "FAIL: systemd-analyze security: exposure $score is over the ceiling $ceiling"
    failures=$((failures + 1))
fi
[[ $failures -eq 0 ]]
