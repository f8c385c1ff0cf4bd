# Debian's Google Benchmark 1.7.
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "benchmark",
    hdrs = glob(["include/benchmark/*.h"]),
    includes = ["include"],
    linkopts = [
        "-lbenchmark",
        "-pthread",
    ],
)

cc_library(
    name = "benchmark_main",
    linkopts = ["-lbenchmark_main"],
    deps = [":benchmark"],
)
