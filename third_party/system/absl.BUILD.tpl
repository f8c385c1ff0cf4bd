# Debian's Abseil (libabsl-dev, 20220623, inline namespace absl::debian3).
# One library carries every header and link flag; the upstream package labels
# (absl/status:statusor, ...) are aliases to it, so BUILD files read as upstream.
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "absl",
    hdrs = glob([
        "include/absl/**/*.h",
        "include/absl/**/*.inc",
    ]),
    includes = ["include"],
    linkopts = %{linkopts},
)
