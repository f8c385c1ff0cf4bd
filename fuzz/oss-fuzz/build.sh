#!/bin/bash -eu
# Builds khoabi's fuzz targets without Bazel, the way OSS-Fuzz and
# ClusterFuzzLite build projects: with $CC, $CXX, $CFLAGS, $CXXFLAGS and
# $LIB_FUZZING_ENGINE, into $OUT, with each target's seed corpus zip,
# dictionary and options beside it.
#
# Dependencies: Abseil, libfdt (dtc) and nlohmann/json. Where their sources
# are checked out in $SRC (abseil-cpp, dtc, json, as the Dockerfile does),
# they are built here with the same compilers and flags, so they are
# instrumented too; otherwise the system's packages are used (Debian:
# libabsl-dev libfdt-dev nlohmann-json3-dev), which is how this script is
# tried on a development machine:
#
#   CC=clang CXX=clang++ CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only \
#     -fsanitize=address,fuzzer-no-link" CXXFLAGS="$CFLAGS" \
#     LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out SRC=/tmp/src WORK=/tmp/work \
#     fuzz/oss-fuzz/build.sh
#
# The same script builds AFL++ binaries (CC=afl-clang-fast CXX=afl-clang-fast++
# LIB_FUZZING_ENGINE=/usr/lib/afl/libAFLDriver.a); see fuzz/README.md.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=${SRC:-/src}
WORK=${WORK:-$(mktemp -d)}
OUT=${OUT:?set OUT to where the fuzzers go}
JOBS=$(nproc)
mkdir -p "$OUT" "$WORK"

TARGETS="handoff elf_reader tracker fdt iommu pasid round_trip"

# Sources of //lib the targets need (see lib/BUILD).
LIB_SOURCES="reason diagnostics image elf_image page_allocator decoder fdt handoff
  handoff_builder iommu iommu_model iommu_preserver kho kho_tracker luo model_text pasid
  preserved_memory corrupt scenario oracle fuzz_support fuzz_round_trip structure_mutator"

INCLUDES=(-I"$REPO")
LIBS=()

# --- Abseil ---------------------------------------------------------------------
if [[ -d $SRC/abseil-cpp ]]; then
  echo "build.sh: building Abseil from $SRC/abseil-cpp"
  cmake -S "$SRC/abseil-cpp" -B "$WORK/absl-build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
    -DCMAKE_CXX_STANDARD=17 -DABSL_PROPAGATE_CXX_STD=ON -DBUILD_TESTING=OFF \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_PREFIX="$WORK/absl" >/dev/null
  cmake --build "$WORK/absl-build" -j"$JOBS" >/dev/null
  cmake --install "$WORK/absl-build" >/dev/null
  INCLUDES+=(-I"$WORK/absl/include")
  LIBS+=(-Wl,--start-group "$WORK"/absl/lib*/libabsl_*.a -Wl,--end-group)
else
  echo "build.sh: using the system's Abseil (pkg-config)"
  ABSL_PC="absl_status absl_statusor absl_strings absl_str_format absl_hash absl_raw_hash_set"
  read -r -a cflags <<<"$(pkg-config --cflags $ABSL_PC)"
  read -r -a libs <<<"$(pkg-config --libs $ABSL_PC)"
  INCLUDES+=("${cflags[@]}")
  LIBS+=("${libs[@]}")
fi

# --- libfdt ---------------------------------------------------------------------
if [[ -d $SRC/dtc ]]; then
  echo "build.sh: building libfdt from $SRC/dtc"
  mkdir -p "$WORK/libfdt"
  for c in "$SRC"/dtc/libfdt/*.c; do
    $CC $CFLAGS -I"$SRC/dtc/libfdt" -c "$c" -o "$WORK/libfdt/$(basename "$c" .c).o"
  done
  ar rcs "$WORK/libfdt.a" "$WORK"/libfdt/*.o
  INCLUDES+=(-I"$SRC/dtc/libfdt")
  LIBS+=("$WORK/libfdt.a")
else
  echo "build.sh: using the system's libfdt"
  LIBS+=(-lfdt)
fi

# --- nlohmann/json (headers only) -------------------------------------------------
if [[ -d $SRC/json/include ]]; then INCLUDES+=(-I"$SRC/json/include"); fi

# --- khoabi -----------------------------------------------------------------------
mkdir -p "$WORK/obj"
objects=()
for s in $LIB_SOURCES; do
  $CXX $CXXFLAGS -std=c++17 "${INCLUDES[@]}" -c "$REPO/lib/$s.cc" -o "$WORK/obj/$s.o" &
  objects+=("$WORK/obj/$s.o")
  if (($(jobs -r | wc -l) >= JOBS)); then wait -n; fi
done
wait
ar rcs "$WORK/libkhoabi.a" "${objects[@]}"

for t in $TARGETS; do
  fuzzer=${t}_fuzzer
  $CXX $CXXFLAGS -std=c++17 "${INCLUDES[@]}" "$REPO/fuzz/$t.cc" "$WORK/libkhoabi.a" \
    $LIB_FUZZING_ENGINE "${LIBS[@]}" -o "$OUT/$fuzzer"
  (cd "$REPO/fuzz/corpus/$t" && zip -q -r -X "$OUT/${fuzzer}_seed_corpus.zip" .)
  if [[ -f $REPO/fuzz/$t.dict ]]; then
    cp "$REPO/fuzz/$t.dict" "$OUT/$fuzzer.dict"
  fi
  # The options name their dictionary as it is called in $OUT.
  sed "s/^dict = .*/dict = $fuzzer.dict/" "$REPO/fuzz/$t.options" >"$OUT/$fuzzer.options"
done
echo "build.sh: built $(echo $TARGETS | wc -w) fuzzers into $OUT"
