// PageAllocator: the encoder's placement must be reproducible (golden images
// depend on it), aligned like real folios, and must fail cleanly rather than
// wrap when it runs out of address space.
#include "lib/page_allocator.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "lib/image.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

constexpr uint64_t kTwoTo64Minus(uint64_t n) { return ~0ull - n + 1; }

std::vector<uint64_t> AllocateAll(const PageAllocator::Config& c,
                                  const std::vector<unsigned>& orders) {
  PageAllocator a(c);
  std::vector<uint64_t> out;
  for (unsigned order : orders) {
    absl::StatusOr<uint64_t> pa = a.Alloc(order);
    out.push_back(pa.ok() ? *pa : ~0ull);
  }
  return out;
}

const std::vector<unsigned>& MixedOrders() {
  static const std::vector<unsigned> orders = {0, 3, 0, 1, 9, 0, 0, 2, 5, 0, 1, 0, 10, 0};
  return orders;
}

TEST(PageAllocator, DenseAllocationsAreConsecutivePages) {
  PageAllocator a(PageAllocator::Config{});
  for (uint64_t i = 0; i < 4; ++i) {
    absl::StatusOr<uint64_t> pa = a.Alloc(0);
    KHOABI_ASSERT_OK(pa.status());
    EXPECT_EQ(*pa, 0x100000000u + i * kPageSize);
  }
  EXPECT_EQ(a.cursor(), 0x100000000u + 4 * kPageSize);
}

TEST(PageAllocator, SameConfigSameAddresses) {
  for (uint64_t seed : {0ull, 1ull, 42ull}) {
    PageAllocator::Config c;
    c.base = 0x7000000;
    c.seed = seed;
    c.max_gap_pages = 17;
    const std::vector<uint64_t> first = AllocateAll(c, MixedOrders());
    EXPECT_EQ(AllocateAll(c, MixedOrders()), first) << "seed " << seed;
    for (uint64_t pa : first) EXPECT_NE(pa, ~0ull);
  }
}

TEST(PageAllocator, DifferentSeedsPlaceDifferently) {
  PageAllocator::Config c1, c2;
  c1.seed = 1;
  c2.seed = 2;
  c1.max_gap_pages = c2.max_gap_pages = 64;
  EXPECT_NE(AllocateAll(c1, MixedOrders()), AllocateAll(c2, MixedOrders()));
}

TEST(PageAllocator, EachFolioIsAlignedToItsSizeAndNoneOverlap) {
  for (uint64_t seed : {0ull, 7ull}) {
    PageAllocator::Config c;
    c.base = 0x123000;  // deliberately not aligned to large folios
    c.seed = seed;
    c.max_gap_pages = 5;
    PageAllocator a(c);
    uint64_t prev_end = 0;
    for (unsigned order = 0; order <= 20; ++order) {
      for (unsigned o : {order, 0u}) {
        absl::StatusOr<uint64_t> pa = a.Alloc(o);
        KHOABI_ASSERT_OK(pa.status());
        EXPECT_EQ(*pa % FolioBytes(o), 0u) << "order " << o << " at " << *pa;
        EXPECT_GE(*pa, c.base);
        EXPECT_GE(*pa, prev_end) << "overlaps the previous folio";
        prev_end = *pa + FolioBytes(o);
      }
    }
  }
}

// The header promises the first PA is the base rounded *up*: an allocator
// must not hand out memory below the base it was given.
TEST(PageAllocator, NeverAllocatesBelowAnUnalignedBase) {
  PageAllocator::Config c;
  c.base = 0x1234;
  PageAllocator a(c);
  absl::StatusOr<uint64_t> pa = a.Alloc(0);
  KHOABI_ASSERT_OK(pa.status());
  EXPECT_EQ(*pa, 0x2000u);
}

TEST(PageAllocator, RejectsOrdersItCannotPlace) {
  PageAllocator a(PageAllocator::Config{});
  EXPECT_EQ(a.Alloc(41).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(a.Alloc(40).ok());
}

TEST(PageAllocator, StopsAtTheLimit) {
  PageAllocator::Config c;
  c.base = 0x10000;
  c.limit = 0x13000;
  PageAllocator a(c);
  EXPECT_EQ(*a.Alloc(0), 0x10000u);
  // An order-2 folio would need 0x14000..0x18000 (aligned): past the limit.
  EXPECT_EQ(a.Alloc(2).status().code(), absl::StatusCode::kResourceExhausted);
  // A failed allocation does not move the cursor: smaller ones still fit.
  EXPECT_EQ(*a.Alloc(0), 0x11000u);
  EXPECT_EQ(*a.Alloc(0), 0x12000u);
  EXPECT_EQ(a.Alloc(0).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(PageAllocator, UsesTheLastPageOfTheAddressSpaceThenStops) {
  PageAllocator::Config c;
  c.base = kTwoTo64Minus(2 * kPageSize);
  PageAllocator a(c);
  EXPECT_EQ(*a.Alloc(0), kTwoTo64Minus(2 * kPageSize));
  // The order-1 folio would start at 2^64: it does not exist.
  EXPECT_EQ(a.Alloc(1).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*a.Alloc(0), kTwoTo64Minus(kPageSize));
  // Must not wrap around to PA 0.
  for (unsigned order : {0u, 0u, 3u}) {
    absl::StatusOr<uint64_t> pa = a.Alloc(order);
    EXPECT_EQ(pa.status().code(), absl::StatusCode::kResourceExhausted)
        << "wrapped to " << (pa.ok() ? *pa : 0);
  }
}

TEST(PageAllocator, LargeFolioAtTheTopNeedsAlignedRoom) {
  PageAllocator::Config c;
  c.base = kTwoTo64Minus(3 * kPageSize);
  PageAllocator a(c);
  // Order 1 aligns up to 2^64 - 2 pages, which fits exactly.
  EXPECT_EQ(*a.Alloc(1), kTwoTo64Minus(2 * kPageSize));
  EXPECT_FALSE(a.Alloc(0).ok());
}

TEST(PageAllocator, SeededGapsStayWithinMaxGapPages) {
  PageAllocator::Config c;
  c.base = 0x40000000;
  c.seed = 99;
  c.max_gap_pages = 8;
  PageAllocator a(c);
  uint64_t prev_end = c.base;
  bool saw_gap = false, saw_no_gap = false;
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<uint64_t> pa = a.Alloc(0);
    KHOABI_ASSERT_OK(pa.status());
    ASSERT_GE(*pa, prev_end);
    const uint64_t gap = (*pa - prev_end) / kPageSize;
    EXPECT_LE(gap, c.max_gap_pages);
    (gap != 0 ? saw_gap : saw_no_gap) = true;
    prev_end = *pa + kPageSize;
  }
  EXPECT_TRUE(saw_gap);
  EXPECT_TRUE(saw_no_gap);
}

TEST(PageAllocator, GapsNeedBothASeedAndAMaximum) {
  PageAllocator::Config no_seed;
  no_seed.max_gap_pages = 100;
  PageAllocator::Config no_max;
  no_max.seed = 5;
  const std::vector<uint64_t> dense = AllocateAll(PageAllocator::Config{}, {0, 0, 0, 0});
  EXPECT_EQ(AllocateAll(no_seed, {0, 0, 0, 0}), dense);
  EXPECT_EQ(AllocateAll(no_max, {0, 0, 0, 0}), dense);
}

}  // namespace
}  // namespace khoabi
