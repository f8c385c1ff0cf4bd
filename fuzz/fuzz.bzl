"""khoabi_fuzz_target: the shape of rules_fuzzing's cc_fuzz_test, by hand (offline).

For a target `<name>` (sources holding LLVMFuzzerTestOneInput and friends) it
declares:

  <name>_fuzzer     the fuzz binary. Under --config=fuzz it links libFuzzer
                    (-fsanitize=fuzzer); otherwise it links //fuzz:replay_main,
                    which runs the files and directories given on the command
                    line, so a crash input can be replayed in any build.
  <name>_regression a cc_test that replays corpus/<name>/ (no sanitizer runtime
                    needed; under --config=asan or fuzz it runs sanitized).

The corpus, the dictionary <name>.dict and <name>.options sit beside the
target, as OSS-Fuzz expects them.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

def khoabi_fuzz_target(name, srcs, deps, size = "small"):
    glue = name + "_glue"
    cc_library(
        name = glue,
        srcs = srcs,
        deps = deps,
        alwayslink = True,
    )
    cc_binary(
        name = name + "_fuzzer",
        deps = [":" + glue] + select({
            "//:fuzzing_engine_libfuzzer": [],
            "//conditions:default": [":replay_main"],
        }),
        linkopts = select({
            "//:fuzzing_engine_libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )
    cc_test(
        name = name + "_regression",
        size = size,
        deps = [":" + glue, ":replay_main"],
        data = native.glob(["corpus/%s/*" % name]),
        args = ["--expect-inputs", "fuzz/corpus/" + name],
    )
