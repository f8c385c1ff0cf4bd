#!/bin/sh
echo "remote_coverage_tools is an offline stand-in: 'bazel coverage' is unavailable." >&2
echo "Use fuzz/coverage.sh (clang source-based coverage with llvm-cov) instead." >&2
exit 1
