#include "tools/decode_flags.h"

#include "absl/strings/str_cat.h"
#include "tools/image_file.h"

namespace khoabi::cli {

std::vector<Option> DecodeFlagOptions() {
  return {
      {"policy", "POLICY",
       "PASID policy the handoff must follow: no-pasid, all-present, or abi-default (A: "
       "no-pasid, B: all-present)",
       "abi-default"},
      {"abi", "A|B", "accept only this IOMMU ABI version (others: iommu_abi_not_accepted)", ""},
      {"no-strict", "", "report strict reasons (unused bytes, padding, ...) as warnings", ""},
      {"no-iommu-required", "", "do not require an IOMMU FLB entry", ""},
      {"max-problems", "N", "problems to keep and print", "64"},
      {"root", "PA", "PA of the KHO root FDT (default: the KHO note, or a search)", ""},
  };
}

bool ParseDecodeFlags(const Command& cmd, const Args& args, Io& io, Options* options,
                      std::optional<uint64_t>* root) {
  std::optional<PasidPolicy> policy = ParsePolicy(args.Get("policy"));
  if (!policy.has_value()) {
    UsageError(io, cmd, "--policy must be no-pasid, all-present or abi-default");
    return false;
  }
  options->pasid_policy = *policy;
  const std::string abi = args.Get("abi");
  if (abi == "A" || abi == "iommu-liveupdate-v1") {
    options->accept_iommu_b = false;
  } else if (abi == "B" || abi == "iommu-liveupdate") {
    options->accept_iommu_a = false;
  } else if (!abi.empty()) {
    UsageError(io, cmd, "--abi must be A or B");
    return false;
  }
  options->strict = !args.Has("no-strict");
  options->require_iommu = !args.Has("no-iommu-required");
  std::optional<uint64_t> max = ParseU64(args.Get("max-problems"));
  if (!max.has_value() || *max == 0 || *max > 1000000) {
    UsageError(io, cmd, "--max-problems must be a number from 1 to 1000000");
    return false;
  }
  options->max_problems = static_cast<size_t>(*max);
  if (args.Has("root")) {
    *root = ParseU64(args.Get("root"));
    if (!root->has_value()) {
      UsageError(io, cmd, "--root must be a physical address (decimal or 0x...)");
      return false;
    }
  }
  return true;
}

}  // namespace khoabi::cli
