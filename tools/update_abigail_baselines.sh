#!/usr/bin/env bash
# Writes the libabigail baselines (tests/testdata/abigail/*.abi) for ABI
# versions that do not have one yet. Existing baselines are kept: a released
# ABI version's layout never changes. To add a version: write its probe in
# tests/abi/abigail/, run this script, review and commit the new .abi file.
# Pass --force NAME to rewrite one baseline deliberately (say why in the commit).
set -euo pipefail
cd "$(dirname "$0")/.."
force=""
if [[ ${1:-} == --force ]]; then force=${2:?--force needs a probe name}; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for probe in tests/abi/abigail/*.c; do
  name=$(basename "$probe" .c)
  out=tests/testdata/abigail/$name.abi
  if [[ -f $out && $name != "$force" ]]; then
    echo "keeping $out"
    continue
  fi
  gcc -std=c11 -g -O0 -shared -fPIC -I. "$probe" -o "$tmp/$name.so"
  abidw --no-show-locs --no-corpus-path "$tmp/$name.so" > "$out"
  echo "wrote $out"
done
