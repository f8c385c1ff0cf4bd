#!/usr/bin/env bash
# The fuzz smoke of tools/test.sh (and so of CI): builds the fuzz targets with
# libFuzzer, ASan and UBSan (--config=fuzz) and runs each one from its corpus
# for a bounded number of executions (default 20000, at most 15 s each), as
# many at a time as there are cores.
# Deterministic (-seed=1). New inputs go to a temporary directory, never into
# fuzz/corpus/. Exits 1 if any target crashes, naming the input.
#
#   fuzz/smoke.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20000}
bazel build --config=fuzz //fuzz:all 2>&1 | grep -E '^(ERROR|FAILED)' && exit 1
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)/fuzz
tmp=$(mktemp -d /tmp/khoabi-fuzz-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
run_one() {  # run_one TARGET: fuzz it, then report (one block of output per target)
  local t=$1 options=fuzz/$1.options dict=() start execs
  mkdir -p "$tmp/$t/new" "$tmp/$t/artifacts"
  [[ -f fuzz/$t.dict ]] && dict=(-dict="fuzz/$t.dict")
  start=$(date +%s)
  if "$bin/${t}_fuzzer" -seed=1 -runs="$runs" -max_total_time=15 \
      -max_len="$(sed -n 's/^max_len *= *//p' "$options")" -timeout=10 -rss_limit_mb=2560 \
      -artifact_prefix="$tmp/$t/artifacts/" -print_final_stats=1 "${dict[@]}" \
      "$tmp/$t/new" "fuzz/corpus/$t" >"$tmp/$t/log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t/log")
    printf '  %-11s ok: %s executions in %ds\n' "$t" "$execs" "$(($(date +%s) - start))"
    return 0
  fi
  printf '  %-11s FAILED:\n' "$t"
  grep -E 'oracle failure|ERROR: |SUMMARY' "$tmp/$t/log" | head -n 5 | sed 's/^/    /'
  mkdir -p /tmp/khoabi-fuzz-smoke-crashes
  for f in "$tmp/$t/artifacts"/*; do
    [[ -e $f ]] || continue
    cp "$f" /tmp/khoabi-fuzz-smoke-crashes/
    echo "    input kept as /tmp/khoabi-fuzz-smoke-crashes/$(basename "$f")"
  done
  return 1
}

failed=0
pids=()
for options in fuzz/*.options; do
  run_one "$(basename "$options" .options)" >"$tmp/$(basename "$options" .options).out" &
  pids+=($!)
  if ((${#pids[@]} >= $(nproc))); then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
cat "$tmp"/*.out
exit "$failed"
