#!/bin/bash
# Runs one libFuzzer target for a bounded time from its seed corpus.
# Usage: run-fuzzer.sh FUZZER SEED_DIR
# WCBROKER_FUZZ_SECONDS sets the time (default 20, so that the whole suite,
# several fuzzers sharing a few cores, stays quick). Exit status is the
# fuzzer's: non-zero on a crash, leak, sanitizer report or abort.
set -euo pipefail
fuzzer=$1
seeds=$2
seconds=${WCBROKER_FUZZ_SECONDS:-20}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/wcbroker-fuzz.XXXXXX")
# New inputs go to scratch/corpus, a fuzzer's own temporary files (the fake
# sysfs tree of fuzz-uevent) to scratch/tmp, findings next to them. All of
# it goes when the run passes and stays, so a failure can be replayed, when
# it fails.
mkdir "$scratch/corpus" "$scratch/tmp"
status=0
TMPDIR="$scratch/tmp" "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="${WCBROKER_FUZZ_ARTIFACTS:-$scratch/}" "$scratch/corpus" "$seeds" || status=$?
if [ "$status" -eq 0 ]; then
    rm -rf "$scratch"
else
    echo "run-fuzzer.sh: $(basename "$fuzzer") exited with $status; corpus and findings kept in $scratch" >&2
fi
exit "$status"
