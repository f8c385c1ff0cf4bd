#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/<target>/ from the encoder
# (lib/fuzz_corpus.h), naming each file by the SHA-1 of its bytes as libFuzzer
# does. Files already there (inputs the fuzzers found, regression inputs of
# fixed bugs) are kept; --replace deletes every corpus file first.
#
#   fuzz/make_corpus.sh [--replace] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
replace=0
if [[ ${1:-} == --replace ]]; then replace=1; shift; fi
bazel build --config=opt //fuzz:make_corpus 2>&1 | grep -E '^(ERROR|FAILED)' && exit 1
tmp=$(mktemp -d /tmp/khoabi-seeds.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bazel-bin/fuzz/make_corpus "$tmp" "$@"
for dir in "$tmp"/*/; do
  target=$(basename "$dir")
  out=fuzz/corpus/$target
  if ((replace)); then rm -rf "$out"; fi
  mkdir -p "$out"
  added=0
  for f in "$dir"*; do
    sha=$(sha1sum "$f" | cut -d' ' -f1)
    if [[ ! -e $out/$sha ]]; then cp "$f" "$out/$sha"; added=$((added + 1)); fi
  done
  echo "$target: $added new, $(ls "$out" | wc -l) files, $(du -sb "$out" | cut -f1) bytes"
done
