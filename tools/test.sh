#!/usr/bin/env bash
# The test command of khoabi's README (and of .ci/run): installs what is
# missing, then runs the whole test suite plain and under ASan+UBSan+LSan, and
# a bounded run of every fuzz target (fuzz/smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

echo "==> bazel test //... (plain)"
bazel test //...

echo "==> bazel test --config=asan //... (AddressSanitizer, UndefinedBehaviorSanitizer, LeakSanitizer)"
bazel test --config=asan //...

echo "==> fuzz smoke: every fuzz target (libFuzzer, ASan, UBSan) from its corpus, bounded"
fuzz/smoke.sh

echo "==> all tests passed"
