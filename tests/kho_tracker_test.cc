// The preserved-memory tracker's encoder at the edges of the address space.
#include "lib/kho_tracker.h"

#include "gtest/gtest.h"
#include "lib/image.h"
#include "lib/page_allocator.h"

namespace khoabi {
namespace {

// An order-52 folio (2^64 bytes, at PA 0) in a kho-v1 tracker: bit 0 of its
// bitmap, and no shift by 64 on the way (UBSan under --config=asan; the
// structure-aware mutator re-encoding a decoded handoff found it).
TEST(KhoTrackerTest, KhoV1EncodesAnOrder52Folio) {
  PageAllocator allocator;
  absl::StatusOr<TrackerModel> t = PlanTracker(KhoVersion::kV1, {{0, 52}}, allocator);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->chunks.size(), 1u);
  ASSERT_EQ(t->chunks[0].entries.size(), 1u);
  EXPECT_EQ(t->chunks[0].order, 52u);
  ImageBuilder builder;
  ASSERT_TRUE(EncodeTracker(*t, builder).ok());
  const Image image = std::move(builder).Build(0);
  const ImageView view = image.View();
  ImageReader reader(view);
  uint64_t word = 0;
  ASSERT_TRUE(reader.ReadU64(t->chunks[0].entries[0].bitmap_pa, &word));
  EXPECT_EQ(word, 1u);
}

}  // namespace
}  // namespace khoabi
