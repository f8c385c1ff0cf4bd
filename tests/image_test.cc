// Image, ImageView, ImageReader and ImageBuilder: every byte a decoder reads
// goes through ImageReader, so its bounds checks are the ones that keep
// decoders inside the image (spec/validation.md, "never reads outside the
// image"). Ranges near 2^64 are where overflow-prone checks break.
#include "lib/image.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

constexpr uint64_t kTop = ~0ull;  // last byte of the address space

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// Two segments with a gap, and one that ends exactly at 2^64.
class ImageReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = Pattern(0x2000, 1);
    b_ = Pattern(0x1000, 2);
    top_ = Pattern(0x1000, 3);
    view_.root_pa = 0x1000;
    view_.segments = {{0x1000, absl::MakeConstSpan(a_)},
                      {0x5000, absl::MakeConstSpan(b_)},
                      {0xfffffffffffff000, absl::MakeConstSpan(top_)}};
  }
  std::vector<uint8_t> a_, b_, top_;
  ImageView view_;
};

TEST_F(ImageReaderTest, ReadsWholeSegmentsAndTheirLastBytes) {
  ImageReader r(view_);
  absl::Span<const uint8_t> all = r.Bytes(0x1000, 0x2000);
  ASSERT_EQ(all.size(), 0x2000u);
  EXPECT_EQ(all.data(), a_.data());
  EXPECT_EQ(r.Bytes(0x2fff, 1).size(), 1u);
  EXPECT_EQ(r.Bytes(0x2fff, 1)[0], a_.back());
  EXPECT_EQ(r.Bytes(0x2ff8, 8).size(), 8u);
  EXPECT_EQ(r.Bytes(0x5000, 0x1000).data(), b_.data());
}

TEST_F(ImageReaderTest, RejectsReadsPastASegmentEnd) {
  ImageReader r(view_);
  EXPECT_TRUE(r.Bytes(0x2ff9, 8).empty());
  EXPECT_TRUE(r.Bytes(0x3000, 1).empty());
  EXPECT_TRUE(r.Bytes(0x1000, 0x2001).empty());
  EXPECT_FALSE(r.Contains(0x5fff, 2));
  EXPECT_TRUE(r.Contains(0x5fff, 1));
}

TEST_F(ImageReaderTest, RejectsReadsBeforeAndBetweenSegments) {
  ImageReader r(view_);
  EXPECT_TRUE(r.Bytes(0, 1).empty());
  EXPECT_TRUE(r.Bytes(0xfff, 1).empty());
  EXPECT_TRUE(r.Bytes(0xfff, 2).empty());  // starts before, ends inside
  EXPECT_TRUE(r.Bytes(0x4fff, 1).empty());
  EXPECT_TRUE(r.Bytes(0x4000, 0x1001).empty());
}

TEST_F(ImageReaderTest, RejectsReadsStraddlingTwoSegments) {
  ImageReader r(view_);
  // From the end of the first segment, across the gap, into the second.
  EXPECT_TRUE(r.Bytes(0x2ff0, 0x2020).empty());
  EXPECT_TRUE(r.Bytes(0x1000, 0x5000).empty());
  uint64_t v = 0xdeadbeef;
  EXPECT_FALSE(r.ReadU64(0x2ffc, &v));
  EXPECT_EQ(v, 0xdeadbeefu) << "a failed read must not write";
}

TEST_F(ImageReaderTest, HandlesTheTopOfTheAddressSpace) {
  ImageReader r(view_);
  EXPECT_EQ(r.Bytes(kTop, 1).size(), 1u);
  EXPECT_EQ(r.Bytes(kTop, 1)[0], top_.back());
  EXPECT_EQ(r.Bytes(kTop - 7, 8).size(), 8u);
  EXPECT_EQ(r.Bytes(0xfffffffffffff000, 0x1000).data(), top_.data());
  // pa + len wraps around 2^64: must be rejected, not wrapped to a small end.
  EXPECT_TRUE(r.Bytes(kTop, 2).empty());
  EXPECT_TRUE(r.Bytes(kTop - 7, 9).empty());
  EXPECT_TRUE(r.Bytes(0xfffffffffffff000, 0x1001).empty());
  EXPECT_TRUE(r.Bytes(0xfffffffffffff000, kTop).empty());
  EXPECT_TRUE(r.Bytes(0xffffffffffffe000, 0x2000).empty());
}

TEST_F(ImageReaderTest, RejectsHugeLengths) {
  ImageReader r(view_);
  EXPECT_TRUE(r.Bytes(0x1000, kTop).empty());
  EXPECT_TRUE(r.Bytes(0x1000, uint64_t{1} << 63).empty());
  EXPECT_TRUE(r.Bytes(0x2fff, kTop).empty());
}

TEST_F(ImageReaderTest, LengthZeroIsNeverContained) {
  ImageReader r(view_);
  EXPECT_TRUE(r.Bytes(0x1000, 0).empty());
  EXPECT_FALSE(r.Contains(0x1000, 0));
  EXPECT_FALSE(r.Contains(0x9999, 0));
  // Copying nothing trivially succeeds and touches nothing.
  uint8_t byte = 0x5a;
  EXPECT_TRUE(r.Read(0x1000, &byte, 0));
  EXPECT_EQ(byte, 0x5a);
}

TEST_F(ImageReaderTest, ReadCopiesTheBytes) {
  ImageReader r(view_);
  uint64_t v = 0;
  ASSERT_TRUE(r.ReadU64(0x1008, &v));
  uint64_t want;
  std::memcpy(&want, a_.data() + 8, 8);
  EXPECT_EQ(v, want);

  struct Pair {
    uint32_t x, y;
  } p{};
  ASSERT_TRUE(r.ReadObject(0x5004, &p));
  uint32_t wx;
  std::memcpy(&wx, b_.data() + 4, 4);
  EXPECT_EQ(p.x, wx);
  EXPECT_FALSE(r.ReadObject(0x5ffc, &p));
}

TEST(ImageReader, EmptyViewHasNothing) {
  ImageView view;
  ImageReader r(view);
  EXPECT_TRUE(r.Bytes(0, 1).empty());
  EXPECT_TRUE(r.Bytes(kTop, 1).empty());
  EXPECT_EQ(view.total_bytes(), 0u);
}

// --- ImageBuilder --------------------------------------------------------

TEST(ImageBuilder, RejectsOverlapWithARangePutBefore) {
  ImageBuilder b;
  KHOABI_ASSERT_OK(b.PutZero(0x10000, 0x1000));
  // Same start, inside, ending inside, covering it, ending on its first byte.
  EXPECT_EQ(b.PutZero(0x10000, 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b.PutZero(0x10800, 8).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b.PutZero(0xf000, 0x1001).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b.PutZero(0xf000, 0x3000).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b.PutZero(0x10fff, 0x10).code(), absl::StatusCode::kInvalidArgument);
  // Adjacent on both sides is fine.
  KHOABI_ASSERT_OK(b.PutZero(0xf000, 0x1000));
  KHOABI_ASSERT_OK(b.PutZero(0x11000, 0x1000));
  EXPECT_TRUE(b.Has(0x10000));
  EXPECT_FALSE(b.Has(0x10800));
}

TEST(ImageBuilder, RejectsRangesThatWrapAround) {
  ImageBuilder b;
  EXPECT_EQ(b.PutZero(0xfffffffffffff000, 0x1001).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b.PutZero(kTop, 2).code(), absl::StatusCode::kInvalidArgument);
  KHOABI_ASSERT_OK(b.PutZero(0xfffffffffffff000, 0x1000));  // ends at 2^64 exactly
  EXPECT_EQ(b.PutZero(kTop, 1).code(), absl::StatusCode::kInvalidArgument);
  KHOABI_ASSERT_OK(b.Put(0x1000, {}));  // nothing to put
  EXPECT_FALSE(b.Has(0x1000));
}

TEST(ImageBuilder, BuildJoinsAdjacentRangesIntoMaximalSegments) {
  ImageBuilder b;
  KHOABI_ASSERT_OK(b.Put(0x3000, Pattern(0x1000, 3)));
  KHOABI_ASSERT_OK(b.Put(0x1000, Pattern(0x1000, 1)));
  KHOABI_ASSERT_OK(b.Put(0x2000, Pattern(0x1000, 2)));
  KHOABI_ASSERT_OK(b.Put(0x9000, Pattern(0x10, 9)));
  Image image = std::move(b).Build(0x2000);
  EXPECT_EQ(image.root_pa, 0x2000u);
  ASSERT_EQ(image.segments().size(), 2u);
  EXPECT_EQ(image.segments()[0].pa, 0x1000u);
  std::vector<uint8_t> want = Pattern(0x1000, 1);
  for (uint8_t s : {2, 3}) {
    std::vector<uint8_t> p = Pattern(0x1000, s);
    want.insert(want.end(), p.begin(), p.end());
  }
  EXPECT_EQ(image.segments()[0].bytes, want);
  EXPECT_EQ(image.segments()[1].pa, 0x9000u);
  EXPECT_EQ(image.total_bytes(), 0x3010u);

  // Reads straddling the old range boundaries now succeed.
  ImageView view = image.View();
  ImageReader r(view);
  EXPECT_EQ(r.Bytes(0x1ff8, 16).size(), 16u);
  EXPECT_EQ(r.Bytes(0x1000, 0x3000).size(), 0x3000u);
  EXPECT_EQ(view.total_bytes(), image.total_bytes());
}

// --- Image::FromSegments ---------------------------------------------------

TEST(ImageFromSegments, SortsAndCoalesces) {
  std::vector<Image::Segment> segs = {{0x5000, Pattern(0x1000, 5)},
                                      {0x1000, Pattern(0x1000, 1)},
                                      {0x2000, Pattern(0x800, 2)},
                                      {0x2800, Pattern(0x800, 3)},
                                      {0x7000, {}}};  // empty: dropped
  absl::StatusOr<Image> image = Image::FromSegments(0x1000, segs);
  KHOABI_ASSERT_OK(image.status());
  ASSERT_EQ(image->segments().size(), 2u);
  EXPECT_EQ(image->segments()[0].pa, 0x1000u);
  EXPECT_EQ(image->segments()[0].bytes.size(), 0x2000u);
  EXPECT_EQ(image->segments()[0].bytes[0x1000], Pattern(1, 2)[0]);
  EXPECT_EQ(image->segments()[0].bytes[0x1800], Pattern(1, 3)[0]);
  EXPECT_EQ(image->segments()[1].pa, 0x5000u);
  EXPECT_EQ(image->root_pa, 0x1000u);
}

TEST(ImageFromSegments, RejectsOverlaps) {
  const std::vector<std::vector<Image::Segment>> cases = {
      {{0x1000, Pattern(0x1000, 1)}, {0x1fff, Pattern(1, 2)}},
      {{0x1000, Pattern(0x1000, 1)}, {0x1000, Pattern(1, 2)}},
      {{0x1000, Pattern(0x3000, 1)}, {0x2000, Pattern(0x10, 2)}},  // contained
      {{0xfffffffffffff000, Pattern(0x1000, 1)}, {kTop, Pattern(1, 2)}},
  };
  for (const auto& segs : cases) {
    absl::StatusOr<Image> image = Image::FromSegments(0, segs);
    EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument)
        << segs[0].pa << " " << segs[1].pa;
  }
}

TEST(ImageFromSegments, RejectsWrapAroundButAcceptsEndingAtTheTop) {
  EXPECT_EQ(Image::FromSegments(0, {{kTop, Pattern(2, 1)}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Image::FromSegments(0, {{0xfffffffffffff800, Pattern(0x801, 1)}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Image> top = Image::FromSegments(
      0, {{0xfffffffffffff800, Pattern(0x800, 1)}, {0xfffffffffffff000, Pattern(0x800, 2)}});
  KHOABI_ASSERT_OK(top.status());
  ASSERT_EQ(top->segments().size(), 1u);
  EXPECT_EQ(top->segments()[0].pa, 0xfffffffffffff000u);
  EXPECT_EQ(top->segments()[0].bytes.size(), 0x1000u);
}

// --- Image::Truncated and Image::Mutable -----------------------------------

TEST(ImageTruncated, KeepsTheFirstBytesInPaOrder) {
  absl::StatusOr<Image> image =
      Image::FromSegments(0x4000, {{0x9000, Pattern(0x2000, 9)}, {0x1000, Pattern(0x1000, 1)}});
  KHOABI_ASSERT_OK(image.status());

  EXPECT_TRUE(image->Truncated(0).segments().empty());
  EXPECT_EQ(image->Truncated(0).root_pa, 0x4000u);

  Image one = image->Truncated(1);
  ASSERT_EQ(one.segments().size(), 1u);
  EXPECT_EQ(one.segments()[0].pa, 0x1000u);
  EXPECT_EQ(one.segments()[0].bytes, Pattern(1, 1));

  Image first = image->Truncated(0x1000);
  ASSERT_EQ(first.segments().size(), 1u);
  EXPECT_EQ(first.total_bytes(), 0x1000u);

  Image into_second = image->Truncated(0x1005);
  ASSERT_EQ(into_second.segments().size(), 2u);
  EXPECT_EQ(into_second.segments()[1].pa, 0x9000u);
  EXPECT_EQ(into_second.segments()[1].bytes, Pattern(5, 9));

  for (uint64_t n : {uint64_t{0x3000}, uint64_t{0x3001}, kTop}) {
    Image all = image->Truncated(n);
    ASSERT_EQ(all.segments().size(), 2u) << n;
    EXPECT_EQ(all.segments()[0].bytes, image->segments()[0].bytes);
    EXPECT_EQ(all.segments()[1].bytes, image->segments()[1].bytes);
    EXPECT_EQ(all.root_pa, 0x4000u);
  }
}

TEST(ImageMutable, OnlyWithinOneSegment) {
  absl::StatusOr<Image> image =
      Image::FromSegments(0, {{0x1000, Pattern(0x1000, 1)}, {0x3000, Pattern(0x1000, 3)}});
  KHOABI_ASSERT_OK(image.status());
  absl::Span<uint8_t> m = image->Mutable(0x1ff0, 0x10);
  ASSERT_EQ(m.size(), 0x10u);
  m[0] = 0xee;
  EXPECT_EQ(image->segments()[0].bytes[0xff0], 0xee);
  EXPECT_TRUE(image->Mutable(0x1ff0, 0x11).empty());
  EXPECT_TRUE(image->Mutable(0x2000, 1).empty());
  EXPECT_TRUE(image->Mutable(0x1000, 0).empty());
  EXPECT_TRUE(image->Mutable(0x1000, kTop).empty());
  EXPECT_EQ(image->Mutable(0x3fff, 1).size(), 1u);
}

}  // namespace
}  // namespace khoabi
