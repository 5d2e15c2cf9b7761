#!/usr/bin/env bash
# `make bench`: run every benchmark program of a Release build.
set -euo pipefail
dir=${1:-build/release}
for b in "$dir"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
# causal profiling against a program with known truth (docs/causal.md)
echo "== causal_truth (about 3 minutes)"
POSTPROF_CAUSAL_SHIM="$dir/src/libpostprof_causal.so" python3 tests/causal/causal_truth.py \
  --bench "$dir/cli/postprof" "$dir/tests/causal_truth" "$dir/bench_causal"
echo "== causal_pipeline: the run's causal phase against real speedups (about 4 minutes)"
POSTPROF_CAUSAL_SHIM="$dir/src/libpostprof_causal.so" python3 tests/causal/causal_pipeline.py \
  --bench "$dir/cli/postprof" "$dir/tests/causal_pipeline_truth" "$dir/bench_causal_pipeline"
POSTPROF_CAUSAL_SHIM="$dir/src/libpostprof_causal.so" python3 tests/causal/causal_pipeline.py \
  --bench "$dir/cli/postprof" "$dir/tests/causal_pipeline_truth" "$dir/bench_causal_pipeline_concurrent" \
  --concurrent
echo "== causal_truth, preload mode (about 2 minutes)"
POSTPROF_CAUSAL_SHIM="$dir/src/libpostprof_causal.so" \
  POSTPROF_CAUSAL_PRELOAD="$dir/src/libpostprof_causal_preload.so" python3 tests/causal/causal_truth.py \
  --bench "$dir/cli/postprof" "$dir/tests/causal_truth_preload" "$dir/bench_causal_preload" --preload
# the CI gate's recipe on this machine (docs/ci-gate.md): a pool of interleaved
# `postprof run`s, then A/A and A/B trials judged by `postprof compare`
echo "== bench_gate (several minutes)"
python3 bench/gate/bench_gate.py "$dir/cli/postprof" "$dir/bench_gate"
