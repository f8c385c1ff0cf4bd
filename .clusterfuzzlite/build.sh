#!/bin/bash -eu
# ClusterFuzzLite build: OSS-Fuzz's build script, unchanged.
exec "$SRC/khoabi/fuzz/oss-fuzz/build.sh"
