#!/usr/bin/env bash
# Installs every Debian 12 package khoabi needs to build, test, fuzz and run its
# demo, and only those that are missing. Safe to run again: when everything is
# present it prints nothing and exits 0. The README commands call it.
#
# Bazel is pinned to 4.2.3 (Debian's bazel-bootstrap): the build uses WORKSPACE
# mode, which newer Bazel retires.
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap      # Bazel 4.2.3 (prints "bazel no_version")
  clang                # clang 14: the compiler, libFuzzer
  lld                  # the linker
  libclang-rt-14-dev   # ASan, UBSan, LSan and libFuzzer runtimes
  llvm                 # llvm-cov, llvm-profdata (coverage reports)
  gcc g++              # second compiler for the ABI header tests
  pkgconf              # link flags of the system Abseil
  binutils             # readelf (image file tests)
  # libraries
  libabsl-dev          # Abseil 20220623
  libgtest-dev libgmock-dev
  libbenchmark-dev
  libfdt-dev           # libfdt (dtc 1.6.1)
  nlohmann-json3-dev   # JSON for the command line and scenarios
  # tools the tests and the fuzzing setup use
  device-tree-compiler # dtc: our FDTs must decompile
  dwarves              # pahole: layouts from DWARF
  abigail-tools        # abidiff: the DWARF ABI gate
  afl++                # second fuzzing engine
  zip                  # OSS-Fuzz seed corpus archives
  git
)
BAZEL_VERSION_PREFIX="4.2.3"

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then
      sudo_cmd=(sudo)
    else
      echo "setup: these packages are missing and installing them needs root:" >&2
      echo "  ${missing[*]}" >&2
      echo "setup: run this script as root, or: apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  log=$(mktemp /tmp/khoabi-setup.XXXXXX.log)
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo_cmd[@]}" apt-get update -qq >"$log" 2>&1 ||
     ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    echo "setup: apt-get failed; the last lines of $log:" >&2
    tail -n 20 "$log" >&2
    echo "setup: packages wanted: ${missing[*]}" >&2
    exit 1
  fi
  rm -f "$log"
fi

bazel_pkg_version=$(dpkg-query -W -f='${Version}' bazel-bootstrap)
if [[ $bazel_pkg_version != "$BAZEL_VERSION_PREFIX"* ]]; then
  echo "setup: khoabi needs Bazel $BAZEL_VERSION_PREFIX (bazel-bootstrap), found $bazel_pkg_version" >&2
  exit 1
fi
