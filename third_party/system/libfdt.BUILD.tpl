# Debian's libfdt (libfdt-dev, dtc 1.6.1), under the labels of dtc's upstream Bazel
# module: @dtc//libfdt.
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "fdt",
    hdrs = [
        "fdt.h",
        "libfdt.h",
        "libfdt_env.h",
    ],
    includes = ["."],
    linkopts = ["-l:libfdt.a"],
)

alias(
    name = "libfdt",
    actual = ":fdt",
)
