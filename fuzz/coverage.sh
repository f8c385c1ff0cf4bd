#!/usr/bin/env bash
# Source-based coverage of lib/ reached by the fuzz corpora.
#
# Builds the fuzz targets with clang's -fprofile-instr-generate
# -fcoverage-mapping through fuzz/oss-fuzz/build.sh, with the replay main as
# the "engine" (every corpus input runs once), runs each target over its
# corpus, merges the profiles (llvm-profdata) and reports with llvm-cov:
# every lib/ file the targets link, then the decoder's files.
#
#   fuzz/coverage.sh [CORPUS_DIR]      (default fuzz/corpus; <target>/ inside)
#
# Work goes to /tmp/khoabi-coverage/; an HTML report to
# /tmp/khoabi-coverage/html/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-fuzz/corpus}
work=/tmp/khoabi-coverage
rm -rf "$work" && mkdir -p "$work/out" "$work/build" "$work/prof"
flags="-O1 -g -fprofile-instr-generate -fcoverage-mapping"
targets=(handoff elf_reader tracker fdt iommu pasid round_trip)

# The engine: fuzz/replay_main.cc (which build.sh links after each target).
abseil=$(pkg-config --cflags absl_status absl_strings)
clang++ $flags -std=c++17 -I. $abseil -c fuzz/replay_main.cc -o "$work/replay_main.o"
echo "==> building with coverage instrumentation (log: $work/build.log)"
CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" LIB_FUZZING_ENGINE="$work/replay_main.o" \
  OUT="$work/out" WORK="$work/build" SRC="$work/src" fuzz/oss-fuzz/build.sh >"$work/build.log" 2>&1 ||
  { tail -n 20 "$work/build.log"; exit 1; }

echo "==> running every corpus input once"
objects=()
for t in "${targets[@]}"; do
  LLVM_PROFILE_FILE="$work/prof/$t.profraw" "$work/out/${t}_fuzzer" "$corpus/$t" >/dev/null
  [[ $t == handoff ]] || objects+=(-object "$work/out/${t}_fuzzer")
done
llvm-profdata merge -sparse "$work"/prof/*.profraw -o "$work/merged.profdata"

# lib/ only; the harness (fuzz_*, structure_mutator) and generators are not
# what is measured.
repo=$PWD
ignore="(^/usr/|^$repo/fuzz/|^$repo/lib/(fuzz_|structure_mutator|corrupt|scenario))"
cov=(llvm-cov report -instr-profile="$work/merged.profdata" "$work/out/handoff_fuzzer"
  "${objects[@]}" -ignore-filename-regex="$ignore")
echo
echo "== lib/ (every file the targets link, less the fuzz harness and test-data factories)"
"${cov[@]}" | sed "s|$repo/||" | awk '$8 ~ /^[0-9]+$/ {printf "%-28s lines %6s of %5s  branches %6s of %5s  functions %6s\n", $1, $10, $8, $13, $11, $7}'
echo
echo "== the decoder's files (each layer's decoder sits beside its encoder)"
decoder=()
for f in lib/decoder.cc lib/elf_image.cc lib/fdt.cc lib/iommu.cc lib/kho.cc lib/kho_tracker.cc \
  lib/luo.cc lib/pasid.cc lib/preserved_memory.cc lib/list_walk.h abi/vtd_pasid.h; do
  decoder+=("$repo/$f")
done
"${cov[@]}" "${decoder[@]}" | sed "s|$repo/||" | awk '$8 ~ /^[0-9]+$/ {printf "%-28s lines %6s of %5s  branches %6s of %5s  functions %6s\n", $1, $10, $8, $13, $11, $7}'
llvm-cov show -format=html -output-dir="$work/html" -instr-profile="$work/merged.profdata" \
  "$work/out/handoff_fuzzer" "${objects[@]}" -ignore-filename-regex="$ignore" >/dev/null
echo
echo "HTML report: $work/html/index.html"
