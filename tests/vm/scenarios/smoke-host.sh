#!/usr/bin/env bash
# Host side of the smoke test (run-vm.sh --host-check): the bytes the guest wrote through
# its WC mappings of ivshmem BAR2 must be in the backing file, exactly where the guest said
# (its "WCVM-SMOKE-PATTERN" console lines), and nothing else may have changed.
# Environment (from run-vm.sh): WCVM_SHM_FILE, WCVM_CONSOLE_LOG.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${WCVM_SHM_FILE:?run me from run-vm.sh --host-check}" "${WCVM_CONSOLE_LOG:?}"

wcpoke=$(wcvm_helper wc-poke)
size=$(stat -c %s "$WCVM_SHM_FILE")
expected=$(mktemp)
trap 'rm -f "$expected"' EXIT
truncate -s "$size" "$expected"

n=0
while read -r _ off len seed who; do
    off=$((${off#offset=})) len=$((${len#length=})) seed=${seed#seed=} who=${who#who=}
    # The same generator the guest used, so the expectation is not a second implementation.
    "$wcpoke" -g -n "$len" -s "$seed" |
        dd of="$expected" bs=4096 iflag=fullblock seek="$off" oflag=seek_bytes conv=notrunc status=none
    if cmp -s -i "$off:0" -n "$len" "$WCVM_SHM_FILE" <("$wcpoke" -g -n "$len" -s "$seed"); then
        echo "PASS: host: ivshmem backing file holds the $len-byte pattern $who wrote at offset $off"
    else
        echo "FAIL: host: pattern $who wrote at offset $off differs in the backing file:"
        cmp -i "$off:0" -n "$len" "$WCVM_SHM_FILE" <("$wcpoke" -g -n "$len" -s "$seed") || true
    fi
    n=$((n + 1))
done < <(grep -a '^WCVM-SMOKE-PATTERN ' "$WCVM_CONSOLE_LOG")

if [[ $n == 0 ]]; then
    echo "FAIL: host: the guest announced no pattern"
elif cmp -s "$WCVM_SHM_FILE" "$expected"; then
    echo "PASS: host: the rest of the $size-byte backing file is untouched (zero)"
else
    echo "FAIL: host: backing file differs outside the patterns: $(cmp "$WCVM_SHM_FILE" "$expected" 2>&1 || true)"
fi
