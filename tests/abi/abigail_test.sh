#!/usr/bin/env bash
# An independent, DWARF-based ABI gate with libabigail: each ABI version's
# records are compiled into a shared object (tests/abi/abigail/*.c) and
# compared by abidiff with the baseline in tests/testdata/abigail/. Any change
# fails, with abidiff's report.
#
# Adding a new ABI version on purpose: add its probe and regenerate the
# baselines with tools/update_abigail_baselines.sh. Never regenerate the
# baseline of a released version to make this test pass: that is exactly the
# change the kernel's contract forbids.
set -u
cd "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-khoabi}" 2>/dev/null || true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for probe in tests/abi/abigail/*.c; do
  name=$(basename "$probe" .c)
  baseline=tests/testdata/abigail/$name.abi
  if [[ ! -f $baseline ]]; then
    echo "FAIL  $name: no baseline $baseline (run tools/update_abigail_baselines.sh)"
    fail=1
    continue
  fi
  gcc -std=c11 -g -O0 -shared -fPIC -I. "$probe" -o "$tmp/$name.so" || { fail=1; continue; }
  if out=$(abidiff --no-show-locs "$baseline" "$tmp/$name.so" 2>&1); then
    echo "ok    $name: no ABI change"
  else
    echo "FAIL  $name: abidiff reports a change (exit $?):"
    echo "$out" | sed 's/^/      /'
    echo "      A serialized layout must never change: add a new ABI version instead."
    fail=1
  fi
done
exit $fail
