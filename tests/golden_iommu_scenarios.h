// The scenarios behind the checked-in IOMMU golden images. The images are
// never regenerated: a change to the encoder that changes their bytes is a
// break of byte compatibility and fails golden_iommu_test. A new ABI gets new
// files (and a new entry here).
#ifndef KHOABI_TESTS_GOLDEN_IOMMU_SCENARIOS_H_
#define KHOABI_TESTS_GOLDEN_IOMMU_SCENARIOS_H_

#include <string>
#include <vector>

#include "lib/scenario.h"

namespace khoabi::testing {

struct GoldenIommu {
  const char* file;  // under tests/testdata/
  Scenario scenario;
};

inline std::vector<GoldenIommu> GoldenIommuImages() {
  std::vector<GoldenIommu> out;
  {
    Scenario s;
    s.name = "abi A, kho-v2, NO_PASID only: 2 VT-d units, 3 devices";
    s.abi = IommuAbi::kA;
    s.kho = KhoVersion::kV2;
    s.intel_units = 2;
    s.devices = 3;
    s.max_pasid = 1u << 15;
    out.push_back({"iommu_a_kho_v2_2units_3devices.elf", s});
  }
  {
    Scenario s;
    s.name = "abi B, kho-v1, all present: VT-d + SMMUv3, 4 devices, PASIDs 5 and 200";
    s.abi = IommuAbi::kB;
    s.kho = KhoVersion::kV1;
    s.intel_units = 1;
    s.smmu_units = 1;
    s.devices = 4;
    s.max_pasid = 1u << 15;
    s.pasids = {5, 200};
    s.unpreserve = 1;
    out.push_back({"iommu_b_kho_v1_vtd_smmu_4devices_pasids.elf", s});
  }
  return out;
}

}  // namespace khoabi::testing

#endif  // KHOABI_TESTS_GOLDEN_IOMMU_SCENARIOS_H_
