#!/bin/bash
# Every shell script in the project passes shellcheck (exit 77, a skip,
# when shellcheck is not installed).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v shellcheck >/dev/null; then
    echo "SKIP: shellcheck is not installed (apt-get install shellcheck)"
    exit 77
fi
mapfile -t scripts < <(git ls-files '*.sh' '.ci/run' 2>/dev/null || find . -name '*.sh' -not -path './build*')
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
