// The oracles' own costs: re-encoding a handoff must not materialize the
// preserved memory its image does not hold.
#include "lib/oracle.h"

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/handoff.h"
#include "lib/scenario.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

// A handoff that also preserves an order-30 folio (4 TiB) its image leaves
// out: accepted (folio_outside_image is a warning), and CheckReencode must
// not try to write 4 TiB of zeros (the handoff fuzz target ran out of memory
// on such inputs when it did).
TEST(OracleTest, ReencodeSkipsPreservedMemoryNoRecordWrites) {
  absl::StatusOr<HandoffModel> m = BuildScenario(Scenario{});
  ASSERT_TRUE(m.ok()) << m.status();
  PageAllocator::Config config;
  config.base = 1ull << 44;
  PageAllocator allocator(config);
  std::vector<Folio> folios = m->kho.tracker.folios;
  folios.push_back({1ull << 50, 30});
  absl::StatusOr<TrackerModel> tracker = PlanTracker(m->kho.version, folios, allocator);
  ASSERT_TRUE(tracker.ok()) << tracker.status();
  m->kho.tracker = *std::move(tracker);

  absl::StatusOr<Image> image = EncodeHandoffRecords(*m);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_LT(image->total_bytes(), 1u << 20);
  const ImageView view = image->View();
  Decoder decoder;
  const DecodeResult& r = decoder.Decode(view);
  ASSERT_TRUE(r.ok()) << Problems(r.diag);
  EXPECT_TRUE(r.diag.Has(Reason::kFolioOutsideImage));
  EXPECT_TRUE(CheckAcceptedInvariants(view, r.handoff).ok());
  EXPECT_TRUE(CheckReencode(view, r.handoff).ok());
}

}  // namespace
}  // namespace khoabi
