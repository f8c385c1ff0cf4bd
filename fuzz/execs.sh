#!/usr/bin/env bash
# Executions per second of every fuzz target, one process (one core) each, from
# its checked-in corpus, with its dictionary and -seed=1: libFuzzer's
# average_exec_per_sec after --seconds (default 30), for each share of
# structural mutations given (default: 0 and 40, the default share).
#
#   fuzz/execs.sh [--seconds N] [PERCENT...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
if [[ ${1:-} == --seconds ]]; then seconds=$2; shift 2; fi
percents=("$@")
((${#percents[@]})) || percents=(0 40)
bazel build --config=fuzz //fuzz:all 2>&1 | grep -E '^(ERROR|FAILED)' && exit 1
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)/fuzz
work=$(mktemp -d /tmp/khoabi-execs.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf '%-11s %9s %10s %8s %10s\n' target structure execs exec/s "avg input"
for p in "${percents[@]}"; do
  for t in handoff elf_reader tracker fdt iommu pasid round_trip; do
    mkdir -p "$work/$p/$t/new"
    dict=()
    [[ -f fuzz/$t.dict ]] && dict=(-dict="$PWD/fuzz/$t.dict")
    (cd "$work/$p/$t" && KHOABI_STRUCTURE_PERCENT=$p "$bin/${t}_fuzzer" -seed=1 \
      -max_total_time="$seconds" -max_len="$(sed -n 's/^max_len *= *//p' "$OLDPWD/fuzz/$t.options")" \
      -print_final_stats=1 "${dict[@]}" new "$OLDPWD/fuzz/corpus/$t" >log 2>&1) || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$p/$t/log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$p/$t/log")
    n=$(ls "fuzz/corpus/$t" | wc -l)
    printf '%-11s %8s%% %10s %8s %10s\n' "$t" "$p" "${execs:-?}" "${rate:-?}" \
      "$(($(du -sb "fuzz/corpus/$t" | cut -f1) / n)) B"
  done
done
