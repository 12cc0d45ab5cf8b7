#!/bin/bash
# Runs one libFuzzer target for a bounded time from its seed corpus.
# Usage: run-fuzzer.sh FUZZER SEED_DIR
# WCBROKER_FUZZ_SECONDS sets the time (default 30). Exit status is the
# fuzzer's: non-zero on a crash, leak, sanitizer report or abort.
set -euo pipefail
fuzzer=$1
seeds=$2
seconds=${WCBROKER_FUZZ_SECONDS:-30}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Findings are written next to the scratch corpus so a failure can be replayed.
exec "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="${WCBROKER_FUZZ_ARTIFACTS:-$scratch/}" "$scratch" "$seeds"
