#!/usr/bin/env bash
# The main job of khoabi's README: installs what is missing, builds the
# command line, and shows the ABI layout of every record of every version.
# Later steps of the demo (encode, inspect, corrupt, reject) extend this; the
# last step fuzzes the restore path for half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

echo "==> building khoabi"
bazel build --config=opt //tools:khoabi 2>&1 | grep -E '^(ERROR|FAILED)' || true
khoabi=bazel-bin/tools/khoabi
[[ -x $khoabi ]] || { bazel build --config=opt //tools:khoabi; exit 1; }

echo "==> khoabi layout: every record of every ABI version"
"$khoabi" layout

echo "==> fuzzing the restore path for 30 seconds (fuzz/run.sh; the first build takes a few minutes)"
fuzz/run.sh --seconds 30 --interval 10 --no-merge || echo "==> the fuzzers found crashes: the inputs are listed above"
