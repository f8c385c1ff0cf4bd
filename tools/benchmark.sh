#!/usr/bin/env bash
# The benchmark command of khoabi's README: installs what is missing (only what
# tools/setup.sh installs), builds the benchmarks optimized (--config=opt) and
# runs them, printing each one's summary table (medians of repetitions; every
# ratio from numbers measured in the same process). BENCHMARKS.md shows a run.
#
#   tools/benchmark.sh                  all benchmarks, 5 repetitions each
#   tools/benchmark.sh pasid handoff    some of them (pasid handoff reject memory)
#   KHOABI_BENCH_REPETITIONS=9 tools/benchmark.sh
#   KHOABI_BENCH_VERBOSE=1 tools/benchmark.sh   also every benchmark's own lines
#
# Every run's raw numbers go to $KHOABI_BENCH_OUT (default
# /tmp/khoabi-bench) as Google Benchmark JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

reps=${KHOABI_BENCH_REPETITIONS:-5}
out=${KHOABI_BENCH_OUT:-/tmp/khoabi-bench}
benches=("$@")
((${#benches[@]})) || benches=(pasid handoff reject memory)
quiet=(--summary_only)
[[ -n ${KHOABI_BENCH_VERBOSE:-} ]] && quiet=()

bazel build --config=opt //tests/bench:all >/dev/null 2>&1 || bazel build --config=opt //tests/bench:all
bin=$(bazel info --config=opt bazel-bin 2>/dev/null)/tests/bench
mkdir -p "$out"

echo "khoabi benchmarks, $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores," \
  "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM; $(uname -r)"
echo "repetitions: $reps (memory: 1, it is deterministic)"
for b in "${benches[@]}"; do
  case $b in
    pasid | handoff | reject) r=$reps ;;
    memory) r=1 ;;
    *) echo "benchmark.sh: unknown benchmark '$b' (pasid handoff reject memory)" >&2; exit 2 ;;
  esac
  echo
  echo "==> ${b}_bench"
  "$bin/${b}_bench" "${quiet[@]}" --benchmark_repetitions="$r" \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/${b}_bench.json" --benchmark_out_format=json
done
