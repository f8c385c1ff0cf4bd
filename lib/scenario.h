// scenario.h: handoffs built from a small description, for `khoabi gen`,
// tests, fuzz corpora and benchmarks.
//
// A Scenario says what the preserving kernel has (IOMMU units, domains,
// devices, PASIDs in use), which ABI and tracker format it writes, under
// which PASID policy, and where its memory is. BuildScenario plays the
// kernel: it sets the state up, preserves every device, and returns the
// handoff model. ScenarioFromJson reads the documented JSON form.
#ifndef KHOABI_LIB_SCENARIO_H_
#define KHOABI_LIB_SCENARIO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/handoff.h"
#include "lib/iommu_model.h"
#include "lib/kho_tracker.h"
#include "lib/options.h"
#include "lib/page_allocator.h"

namespace khoabi {

struct Scenario {
  std::string name = "handoff";
  IommuAbi abi = IommuAbi::kB;
  KhoVersion kho = KhoVersion::kV2;
  PasidPolicy policy = PasidPolicy::kAbiDefault;
  uint64_t liveupdate_number = 1;
  PageAllocator::Config memory;

  int intel_units = 1;         // scalable-mode VT-d units
  int legacy_intel_units = 0;  // VT-d units without scalable mode (no PASID state)
  int smmu_units = 0;          // ABI B only
  int domains_per_unit = 1;
  int levels = 4;                 // page-table levels of each domain (3-5)
  int devices = 1;                // spread over the units round-robin
  uint32_t max_pasid = 1u << 16;  // PASIDs each device supports (0: none)
  // PASIDs other than 0 attached on each device of a scalable unit. Under the
  // NO_PASID-only policy this makes preservation fail, as the review requires.
  std::vector<uint32_t> pasids;
  int unpreserve = 0;   // devices preserved, then unpreserved (DELETED)
  int opaque_flbs = 0;  // other FLBs (not IOMMU) with one preserved page each
  bool iommu = true;    // carry an IOMMU FLB at all
};

// BuildScenario returns the handoff model, or the preserving kernel's error
// (FailedPrecondition when the PASID policy refuses a device).
absl::StatusOr<HandoffModel> BuildScenario(const Scenario& s);

// ScenarioFromJson parses a scenario (see tools/scenarios/README.md for the
// schema); unknown keys are errors.
absl::StatusOr<Scenario> ScenarioFromJson(absl::string_view json);
std::string ScenarioToJson(const Scenario& s);

}  // namespace khoabi

#endif  // KHOABI_LIB_SCENARIO_H_
