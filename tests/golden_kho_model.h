// golden_kho_model.h: the handoffs stored in tests/testdata/kho_v*_luo_two_flbs.elf.
//
// make_golden_kho writes them once; golden_kho_test checks that they still
// decode to this model and that the encoder still produces them byte for
// byte. The files are never regenerated: a change of either is an ABI change.
#ifndef KHOABI_TESTS_GOLDEN_KHO_MODEL_H_
#define KHOABI_TESTS_GOLDEN_KHO_MODEL_H_

#include "absl/status/statusor.h"
#include "lib/handoff_builder.h"

namespace khoabi::testing {

inline constexpr char kGoldenKhoV1[] = "tests/testdata/kho_v1_luo_two_flbs.elf";
inline constexpr char kGoldenKhoV2[] = "tests/testdata/kho_v2_luo_two_flbs.elf";

// A small handoff: the default dense allocator at 4 GiB, two opaque FLBs
// with order-0 data folios, no IOMMU entry. Small on purpose: the golden test
// flips every bit of the chain's pages.
inline absl::StatusOr<HandoffModel> GoldenKhoModel(KhoVersion version) {
  HandoffBuilder::Config c;
  c.kho_version = version;
  c.liveupdate_number = 42;
  HandoffBuilder b(c);
  b.AddFlb("golden-flb-a-v1", b.PreserveNew(0), 1);
  b.AddFlb("golden-flb-b-v1", b.PreserveNew(0), 3);
  return std::move(b).Finish();
}

}  // namespace khoabi::testing

#endif  // KHOABI_TESTS_GOLDEN_KHO_MODEL_H_
