#!/usr/bin/env bash
# Fuzz/run.sh TARGET SECONDS [libFuzzer flags...]: builds pard-fuzz (libFuzzer + AddressSanitizer, in
# .build-fuzz) and fuzzes TARGET for SECONDS: 1 s per input at most (-timeout=1), 2 GiB of memory
# (-rss_limit_mb=2048), leaks reported. TARGET: detections, pth, tensors, config, tokenizer (all: each
# in turn, SECONDS each). Inputs found are kept in $PARD_FUZZ_WORK/<target> (default
# .build-fuzz/work/<target>), seeded from the committed corpus Fuzz/corpus/<target>; a crash, leak or
# timeout is written there as crash-*, leak-* or timeout-* and the script exits non-zero. Fix it and copy
# the input to Tests/Fixtures/fuzz-regressions/<target>/, which `swift test` replays.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 2 ]]; then
    echo "usage: Fuzz/run.sh detections|pth|tensors|config|tokenizer|all SECONDS [libFuzzer flags...]" >&2
    exit 2
fi
target=$1 seconds=$2
shift 2
if [[ $target == all ]]; then
    for t in detections pth tensors config tokenizer; do "$0" "$t" "$seconds" "$@"; done
    exit 0
fi
[[ -d Fuzz/corpus/$target ]] || { echo "Fuzz/run.sh: no target '$target' (no Fuzz/corpus/$target)" >&2; exit 2; }

PARD_FUZZ=1 swift build --scratch-path .build-fuzz --product pard-fuzz 2>&1 | grep -v "Cannot export local symbol" >&2
binary=$(PARD_FUZZ=1 swift build --scratch-path .build-fuzz --product pard-fuzz --show-bin-path)/pard-fuzz

work=${PARD_FUZZ_WORK:-.build-fuzz/work}/$target
mkdir -p "$work"
echo "Fuzz/run.sh: $target for ${seconds}s, corpus $work + Fuzz/corpus/$target" >&2
# Swift's backtracer and AddressSanitizer both handle fatal signals; let ASan report.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export PARD_FUZZ_TARGET=$target
exec "$binary" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" "$@" "$work" "Fuzz/corpus/$target"
