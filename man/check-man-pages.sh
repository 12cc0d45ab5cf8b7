#!/bin/bash
# Checks wcbroker's manual pages: each must render with groff's man macros
# without a single warning (groff -ww), pass man-db's own warnings check
# when man is installed, and fit an 80-column terminal.
#
# Usage: man/check-man-pages.sh [PAGE...]   (default: every page in man/)
# Exit status: 0 all pages clean, 1 a page has warnings (listed),
# 77 groff is not available (skip, in the Automake/meson convention).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Rendering must not depend on the caller's locale; C.UTF-8 is built into
# glibc, so it always exists.
export LC_ALL=C.UTF-8
width=80

if [ "$#" -gt 0 ]; then
    pages=("$@")
else
    pages=()
    for page in "$here"/*.[1-8]; do
        [ -e "$page" ] && pages+=("$page")
    done
fi
if [ "${#pages[@]}" -eq 0 ]; then
    echo "FAIL: no manual pages found in $here" >&2
    exit 1
fi

# groff-base gives groff, man-db gives man. Debian's archive is the only
# source used; without root (or without network) the check is skipped.
install_tools() {
    [ "$(id -u)" -eq 0 ] || return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    local log
    log="$(mktemp)"
    export DEBIAN_FRONTEND=noninteractive
    local install=(apt-get install -y --no-install-recommends groff-base man-db)
    if ! "${install[@]}" >"$log" 2>&1; then
        apt-get update >>"$log" 2>&1 || true
        "${install[@]}" >>"$log" 2>&1 || {
            echo "apt-get could not install groff-base man-db:" >&2
            tail -n 5 "$log" >&2
            rm -f "$log"
            return 1
        }
    fi
    rm -f "$log"
}

if ! command -v groff >/dev/null 2>&1; then
    install_tools || true
fi
if ! command -v groff >/dev/null 2>&1; then
    echo "SKIP: groff not available"
    exit 77
fi
have_man=false
if command -v man >/dev/null 2>&1; then
    have_man=true
fi

failed=0
page_failed=0
report() {
    local page="$1" what="$2" output="$3"
    echo "FAIL: $(basename "$page"): $what" >&2
    if [ -n "$output" ]; then
        printf '%s\n' "$output" | sed 's/^/    /' >&2
    fi
    failed=1
    page_failed=1
}

for page in "${pages[@]}"; do
    page_failed=0
    if [ ! -r "$page" ]; then
        report "$page" "cannot read the page" ""
        continue
    fi

    # 1. groff with every warning enabled; -z discards the output.
    warnings="$(groff -man -Tutf8 -ww -z "$page" 2>&1 >/dev/null || true)"
    if [ -n "$warnings" ]; then
        report "$page" "groff -man -Tutf8 -ww warnings" "$warnings"
    fi

    # 2. man-db's check, as a reader's man would run it.
    if $have_man; then
        warnings="$(man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null \
            || true)"
        if [ -n "$warnings" ]; then
            report "$page" "man --warnings" "$warnings"
        fi
    fi

    # 3. Nothing wider than the terminal: man sets the line length two
    # columns short of the width; examples and synopses are not filled, so
    # an overlong line there would wrap or be cut on the reader's screen.
    # Overstriking (bold, underline) and SGR sequences are removed first.
    rendered="$(groff -man -Tutf8 -rLL=$((width - 2))n "$page" 2>/dev/null \
        | sed -e 's/.\x08//g' -e 's/\x1b\[[0-9;]*m//g')"
    long="$(printf '%s\n' "$rendered" \
        | grep -n ".\{$((width + 1)),\}" || true)"
    if [ -n "$long" ]; then
        report "$page" "lines longer than $width columns" "$long"
    fi

    if [ "$page_failed" -eq 0 ]; then
        echo "ok: $(basename "$page")"
    fi
done

if [ "$failed" -ne 0 ]; then
    echo "FAIL: manual pages have warnings (above)" >&2
    exit 1
fi
echo "PASS: ${#pages[@]} manual page(s) render without warnings"
