#!/usr/bin/env bash
# The fuzz targets under AFL++ (Debian's afl++), the second engine: builds
# them with afl-clang-fast++ and ASan+UBSan through fuzz/oss-fuzz/build.sh,
# then runs afl-fuzz on each target from its seed corpus.
#
#   fuzz/afl.sh [--seconds N] [TARGET...]     (default: 30 s, every target)
#
# Work goes to /tmp/khoabi-afl/ (binaries in out/, findings in run/<target>/).
# AFL++ does not use the libFuzzer custom mutator; it uses the dictionaries.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
if [[ ${1:-} == --seconds ]]; then seconds=$2; shift 2; fi
targets=("$@")
((${#targets[@]})) || targets=(handoff elf_reader tracker fdt iommu pasid round_trip)
work=/tmp/khoabi-afl
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
echo "==> building with afl-clang-fast++ (log: $work/build.log)"
mkdir -p "$work"
CC=afl-clang-fast CXX=afl-clang-fast++ CFLAGS="$flags" CXXFLAGS="$flags" \
  LIB_FUZZING_ENGINE=/usr/lib/afl/libAFLDriver.a OUT="$work/out" WORK="$work/build" \
  SRC="$work/src" AFL_QUIET=1 fuzz/oss-fuzz/build.sh >"$work/build.log" 2>&1 ||
  { tail -n 20 "$work/build.log"; exit 1; }
crashes=0
for t in "${targets[@]}"; do
  run=$work/run/$t
  rm -rf "$run" && mkdir -p "$run/in"
  cp fuzz/corpus/$t/* "$run/in/"
  dict=()
  [[ -f fuzz/$t.dict ]] && dict=(-x "fuzz/$t.dict")
  AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    afl-fuzz -V "$seconds" -i "$run/in" -o "$run/out" "${dict[@]}" -m none -t 5000 \
    -- "$work/out/${t}_fuzzer" >"$run/log" 2>&1 || true
  stats=$run/out/default/fuzzer_stats
  get() { sed -n "s/^$1 *: *//p" "$stats"; }
  printf '  %-11s %9s execs, %8s/s, corpus %5s, coverage %7s, crashes %s\n' "$t" \
    "$(get execs_done)" "$(get execs_per_sec)" "$(get corpus_count)" "$(get bitmap_cvg)" \
    "$(get saved_crashes)"
  crashes=$((crashes + $(get saved_crashes)))
done
((crashes == 0)) || { echo "crashes are in $work/run/<target>/out/default/crashes/"; exit 1; }
