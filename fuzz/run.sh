#!/usr/bin/env bash
# Runs khoabi's fuzz targets for a given time on every core, shows progress,
# merges what they found into fuzz/corpus/, and ends with a summary table.
#
#   fuzz/run.sh --seconds 60                 every target, one minute in all
#   fuzz/run.sh --seconds 600 --targets handoff,pasid --jobs 4
#
# Options:
#   --seconds N      wall-clock time of the whole run (default 60)
#   --targets a,b    targets to run (default: all of //fuzz)
#   --jobs N         cores to use (default: all, nproc)
#   --interval N     seconds between progress lines (default 10)
#   --no-build       use the binaries of the last --config=fuzz build
#   --no-merge       leave the corpus unchanged
#   --corpus DIR     start from, and merge into, DIR/<target>/ (default fuzz/corpus)
#   --workdir DIR    where corpora, logs and crashes go (default: a new /tmp dir)
#   --quiet          no progress lines, only the summary
#
# Scheduling: with at least as many cores as targets, every target runs the
# whole time with libFuzzer's -fork=<its share of the cores>; with fewer, the
# targets run in rounds of <cores> at a time, each for its share of the time.
# libFuzzer's fork mode keeps going after crashes, OOMs and timeouts and
# collects them in DIR/<target>/artifacts/. New inputs are merged into
# the corpus with -merge=1 (only inputs that add coverage).
# Progress lines show executions per second, coverage (cov: edges, ft:
# features), corpus growth, crashes, and the reasons of lib/reasons.inc the
# decoder has reported so far (KHOABI_FUZZ_REASONS_FILE).
#
# Exit status: 0, or 1 if any target found a crash (listed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

seconds=60 targets="" jobs=$(nproc) interval=10 build=1 merge=1 workdir="" quiet=0
corpus=fuzz/corpus
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --targets) targets=${2//,/ }; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-merge) merge=0; shift ;;
    --corpus) corpus=${2%/}; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --quiet) quiet=1; shift ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
all_targets=(handoff elf_reader tracker fdt iommu pasid round_trip)
[[ -n $targets ]] || targets="${all_targets[*]}"
read -r -a targets <<<"$targets"
for t in "${targets[@]}"; do
  [[ -f fuzz/$t.options ]] || { echo "run.sh: no target $t" >&2; exit 2; }
done
((seconds > 0 && jobs > 0)) || { echo "run.sh: --seconds and --jobs must be positive" >&2; exit 2; }

if ((build)); then
  echo "==> building the fuzz targets (bazel build --config=fuzz //fuzz:all)"
  if ! bazel build --config=fuzz //fuzz:all >/tmp/khoabi-fuzz-build.log 2>&1; then
    tail -n 30 /tmp/khoabi-fuzz-build.log >&2
    exit 1
  fi
fi
bin_dir=$(bazel info --config=fuzz bazel-bin 2>/dev/null)/fuzz
[[ -n $workdir ]] || workdir=$(mktemp -d /tmp/khoabi-fuzz.XXXXXX)
mkdir -p "$workdir/bin"
for t in "${targets[@]}"; do
  # A copy: a later build of another configuration replaces bazel-bin.
  cp -f "$bin_dir/${t}_fuzzer" "$workdir/bin/"
  mkdir -p "$workdir/$t/corpus" "$workdir/$t/artifacts"
  cp -f "$corpus/$t"/* "$workdir/$t/corpus/" 2>/dev/null || true
  : >"$workdir/$t/reasons"
  echo "$(ls "$workdir/$t/corpus" | wc -l)" >"$workdir/$t/corpus_start"
done

option() {  # option TARGET NAME: a value of fuzz/TARGET.options
  sed -n "s/^$2 *= *//p" "$repo/fuzz/$1.options"
}

# Rounds of at most $jobs targets; each runs $round_seconds, with -fork=$fork
# when it has more than one core to itself.
n=${#targets[@]}
if ((jobs >= n)); then
  per_round=$n fork=$((jobs / n)) round_seconds=$seconds
else
  per_round=$jobs fork=1 round_seconds=$((seconds * jobs / n))
  ((round_seconds >= 5)) || round_seconds=5
fi

# fuzz_target TARGET: fuzzes for $round_seconds. With one core, libFuzzer's
# plain mode (fastest), started again after a crash, OOM or timeout until the
# time is up; with more, fork mode, which does that itself.
fuzz_target() {
  local t=$1 dict=() end run=0 left
  [[ -f $repo/fuzz/$t.dict ]] && dict=(-dict="$repo/fuzz/$t.dict")
  local common=(-max_len="$(option "$t" max_len)" -timeout="$(option "$t" timeout)"
    -rss_limit_mb="$(option "$t" rss_limit_mb)" -print_final_stats=1 -print_funcs=0
    -artifact_prefix="$workdir/$t/artifacts/" "${dict[@]}")
  cd "$workdir/$t"
  export KHOABI_FUZZ_REASONS_FILE="$workdir/$t/reasons"
  end=$(($(date +%s) + round_seconds))
  if ((fork > 1)); then
    "$workdir/bin/${t}_fuzzer" -fork="$fork" -ignore_crashes=1 -ignore_ooms=1 \
      -ignore_timeouts=1 -max_total_time="$round_seconds" "${common[@]}" corpus >log.0 2>&1
    return 0
  fi
  while left=$((end - $(date +%s))); ((left > 0)); do
    "$workdir/bin/${t}_fuzzer" -max_total_time="$left" "${common[@]}" corpus \
      >"log.$run" 2>&1 || true
    run=$((run + 1))
  done
}

cleanup() {  # stops what this script started, should it be interrupted
  local f
  for f in "$workdir"/*/pid; do
    [[ -e $f ]] || continue
    pkill -P "$(cat "$f")" 2>/dev/null || true
    kill "$(cat "$f")" 2>/dev/null || true
  done
}
trap cleanup INT TERM

start_target() {
  date +%s >"$workdir/$1/started"
  (fuzz_target "$1") &
  echo $! >"$workdir/$1/pid"
}

# A target's totals over its runs, as "execs cov ft corpus crashes".
status() {
  local t=$1 execs=0 cov=0 ft=0 corp=0 line n log
  for log in "$workdir/$t"/log.*; do
    [[ -e $log ]] || continue
    line=$(grep -aE '^#[0-9]+:?[[:space:]].*cov: ' "$log" | tail -n 1 || true)
    [[ -n $line ]] || continue
    n=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$line")
    execs=$((execs + n))
    cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$line")
    ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$line")
    corp=$(sed -nE 's/.*corp: ([0-9]+).*/\1/p' <<<"$line")
  done
  echo "$execs ${cov:-0} ${ft:-0} ${corp:-0} $(ls "$workdir/$t/artifacts" | wc -l)"
}

total_reasons=$(grep -c '^KHOABI_REASON(' lib/reasons.inc)
reasons_seen() {
  local files=()
  for t in "${targets[@]}"; do files+=("$workdir/$t/reasons"); done
  sort -u "${files[@]}" | grep -c . || true
}

human() {  # 12345 -> 12.3k
  awk -v n="$1" 'BEGIN { if (n >= 1e6) printf "%.1fM", n / 1e6; else if (n >= 1e4) printf "%.1fk", n / 1e3; else printf "%d", n }'
}

echo "==> fuzzing ${targets[*]} for ${seconds}s on $jobs core(s) (work dir $workdir)"
if ((jobs < n)); then
  echo "    $n targets on $jobs core(s): rounds of $per_round, ${round_seconds}s each"
fi
began=$(date +%s)
next_print=$((began + interval))
for ((i = 0; i < n; i += per_round)); do
  round=("${targets[@]:i:per_round}")
  for t in "${round[@]}"; do start_target "$t"; done
  while :; do
    running=0
    for t in "${round[@]}"; do kill -0 "$(cat "$workdir/$t/pid")" 2>/dev/null && running=1; done
    ((running)) || break
    sleep 1
    now=$(date +%s)
    elapsed=$((now - began))
    if ((!quiet && now >= next_print)); then
      next_print=$((now + interval))
      line="" sum_crashes=0
      for t in "${round[@]}"; do
        read -r execs cov ft corp crashes < <(status "$t")
        rate=$(human $((execs / ($(date +%s) - $(cat "$workdir/$t/started") + 1))))
        line+=" $t ${rate}/s cov $cov |"
        sum_crashes=$((sum_crashes + crashes))
      done
      printf '[%4ds/%ds]%s reasons %d/%d, crashes %d\n' "$elapsed" "$seconds" "${line%|}" \
        "$(reasons_seen)" "$total_reasons" "$sum_crashes"
    fi
  done
  for t in "${round[@]}"; do wait "$(cat "$workdir/$t/pid")" || true; done
done

if ((merge)); then
  echo "==> merging new inputs into $corpus/"
  for t in "${targets[@]}"; do
    mkdir -p "$corpus/$t"
    before=$(ls "$corpus/$t" | wc -l)
    "$workdir/bin/${t}_fuzzer" -merge=1 -max_len="$(option "$t" max_len)" \
      -timeout="$(option "$t" timeout)" -rss_limit_mb="$(option "$t" rss_limit_mb)" \
      "$corpus/$t" "$workdir/$t/corpus" >"$workdir/$t/merge.log" 2>&1 || true
    echo $(($(ls "$corpus/$t" | wc -l) - before)) >"$workdir/$t/merged"
  done
fi

echo
printf '%-11s %9s %9s %7s %7s %16s %7s %8s %8s\n' target execs exec/s cov ft corpus merged reasons crashes
found=0
for t in "${targets[@]}"; do
  read -r execs cov ft corp crashes < <(status "$t")
  merged=$(cat "$workdir/$t/merged" 2>/dev/null || echo -)
  printf '%-11s %9s %9s %7s %7s %16s %7s %8s %8s\n' "$t" "$(human "$execs")" \
    "$(human $((execs / round_seconds)))" "$cov" "$ft" \
    "$(cat "$workdir/$t/corpus_start") -> $(ls "$workdir/$t/corpus" | wc -l)" "$merged" \
    "$(sort -u "$workdir/$t/reasons" | grep -c . || true)" "$crashes"
  found=$((found + crashes))
done
echo "reasons reached by all targets: $(reasons_seen) of $total_reasons (lib/reasons.inc)"
if ((found)); then
  echo "crashes (replay one with: $workdir/bin/<target>_fuzzer FILE, or --explain=<target> in a plain build):"
  for t in "${targets[@]}"; do
    for f in "$workdir/$t/artifacts"/*; do [[ -e $f ]] && echo "  $t: $f"; done
  done
  exit 1
fi
