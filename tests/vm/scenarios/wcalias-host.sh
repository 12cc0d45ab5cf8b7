#!/usr/bin/env bash
# Host side of the wcalias scenario (run-vm.sh --host-check): each pattern an
# unprivileged guest process wrote through a wcalias alias must be in ivshmem's
# backing file at exactly the alias's offset in BAR2 (its "WCALIAS-PATTERN"
# console lines). Environment (from run-vm.sh): WCVM_SHM_FILE, WCVM_CONSOLE_LOG.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${WCVM_SHM_FILE:?run me from run-vm.sh --host-check}" "${WCVM_CONSOLE_LOG:?}"

# The guest's own generator, run on the host (the helper is static).
checker=$(wcvm_helper wcalias-check)
n=0
while read -r _ off len seed; do
    off=$((${off#offset=})) len=$((${len#length=})) seed=${seed#seed=}
    if cmp -s -i "$off:0" -n "$len" "$WCVM_SHM_FILE" <("$checker" pattern "$seed" "$len"); then
        echo "PASS: host: the backing file holds the $len-byte pattern (seed $seed) uid 65534 wrote through the alias at BAR2 offset $off"
    else
        echo "FAIL: host: the pattern (seed $seed) written at BAR2 offset $off differs in the backing file:" \
            "$(cmp -i "$off:0" -n "$len" "$WCVM_SHM_FILE" <("$checker" pattern "$seed" "$len") 2>&1 || true)"
    fi
    n=$((n + 1))
done < <(grep -a '^WCALIAS-PATTERN ' "$WCVM_CONSOLE_LOG")
[[ $n != 0 ]] || echo "FAIL: host: the guest announced no pattern"
