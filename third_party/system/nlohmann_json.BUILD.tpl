# Debian's nlohmann/json 3.11 (header only), under the upstream label :json.
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "json",
    hdrs = glob(["include/nlohmann/**/*.hpp"]),
    includes = ["include"],
)
