# Debian's GoogleTest and GoogleMock 1.12 (static libraries only).
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "gtest",
    hdrs = glob(["include/gtest/**/*.h"]),
    includes = ["include"],
    linkopts = [
        "-lgtest",
        "-pthread",
    ],
)

cc_library(
    name = "gtest_main",
    linkopts = ["-lgtest_main"],
    deps = [":gtest"],
)

cc_library(
    name = "gmock",
    hdrs = glob(["include/gmock/**/*.h"]),
    includes = ["include"],
    linkopts = ["-lgmock"],
    deps = [":gtest"],
)

cc_library(
    name = "gmock_main",
    linkopts = ["-lgmock_main"],
    deps = [":gmock"],
)
