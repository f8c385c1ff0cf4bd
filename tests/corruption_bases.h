// corruption_bases.h: the valid handoffs the corruption classes of
// lib/corrupt.h are applied to in tests (corruption_test,
// decoder_allocation_test): both ABIs x both tracker formats, with every kind
// of unit, more than one device page, PASID state, an opaque FLB and deleted
// devices, so that every class applies to at least one.
#ifndef KHOABI_TESTS_CORRUPTION_BASES_H_
#define KHOABI_TESTS_CORRUPTION_BASES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/handoff.h"
#include "lib/scenario.h"

namespace khoabi::testing {

struct CorruptionBase {
  std::string name;  // "A_kho_v1", ...
  HandoffModel model;
};

inline const std::vector<CorruptionBase>& CorruptionBases() {
  static const auto* const kBases = [] {
    auto* out = new std::vector<CorruptionBase>();
    for (IommuAbi abi : {IommuAbi::kA, IommuAbi::kB}) {
      for (KhoVersion kho : {KhoVersion::kV1, KhoVersion::kV2}) {
        Scenario s;
        s.abi = abi;
        s.kho = kho;
        s.intel_units = 2;
        s.legacy_intel_units = 1;
        s.smmu_units = abi == IommuAbi::kB ? 1 : 0;
        s.domains_per_unit = 2;
        s.devices = 80;  // more than one device page in both ABIs
        s.max_pasid = 1u << 16;
        s.opaque_flbs = 1;
        s.unpreserve = 2;
        absl::StatusOr<HandoffModel> m = BuildScenario(s);
        if (!m.ok()) {
          ADD_FAILURE() << m.status();
          continue;
        }
        out->push_back({absl::StrCat(abi == IommuAbi::kA ? "A" : "B", "_",
                                     kho == KhoVersion::kV1 ? "kho_v1" : "kho_v2"),
                        *std::move(m)});
      }
    }
    return out;
  }();
  return *kBases;
}

}  // namespace khoabi::testing

#endif  // KHOABI_TESTS_CORRUPTION_BASES_H_
