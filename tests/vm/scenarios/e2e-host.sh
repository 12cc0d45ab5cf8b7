#!/usr/bin/env bash
# Host side of the end-to-end test (run-vm.sh --host-check): every pattern
# the guest's clients wrote through their mappings of ivshmem BAR2 must be
# in the backing file, byte for byte, where the guest said
# ("WCVM-E2E-PATTERN offset=N length=N pattern=TEXT" console lines).
# Environment (from run-vm.sh): WCVM_SHM_FILE, WCVM_CONSOLE_LOG.
set -euo pipefail
: "${WCVM_SHM_FILE:?run me from run-vm.sh --host-check}" "${WCVM_CONSOLE_LOG:?}"

n=0
while read -r _ offset length pattern; do
    offset=${offset#offset=} length=${length#length=} pattern=${pattern#pattern=}
    pattern=${pattern%$'\r'}
    if python3 - "$WCVM_SHM_FILE" "$offset" "$length" "$pattern" <<'PY'; then
import sys
path, offset, length, pattern = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
with open(path, "rb") as backing:
    backing.seek(offset)
    found = backing.read(length)
expected = (pattern * (length // len(pattern) + 1))[:length]
if found != expected:
    first = next(i for i in range(length) if i >= len(found) or found[i] != expected[i])
    print(f"   first difference at offset {offset + first:#x}")
    sys.exit(1)
PY
        echo "PASS: host: the ivshmem backing file holds \"$pattern\" repeated over [$offset, +$length), as written in the guest"
    else
        echo "FAIL: host: the ivshmem backing file does not hold \"$pattern\" over [$offset, +$length)"
    fi
    n=$((n + 1))
done < <(grep -a '^WCVM-E2E-PATTERN ' "$WCVM_CONSOLE_LOG")
if [[ $n == 0 ]]; then
    echo "FAIL: host: the guest announced no pattern to check"
fi
