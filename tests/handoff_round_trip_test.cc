// decode(encode(m)) == m for generated handoffs of many shapes, both tracker
// formats; re-encoding a decoded handoff reproduces the image byte for byte.
#include <tuple>

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "lib/handoff_builder.h"
#include "lib/model_text.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

struct Shape {
  const char* name;
  KhoVersion kho;
  uint64_t base;
  uint64_t seed;
  uint32_t gap_pages;
  int opaque_flbs;
  std::vector<unsigned> extra_orders;  // more preserved folios
};

Options NoIommu() {
  Options o;
  o.require_iommu = false;
  return o;
}

HandoffModel Build(const Shape& s) {
  HandoffBuilder::Config c;
  c.kho_version = s.kho;
  c.memory.base = s.base;
  c.memory.seed = s.seed;
  c.memory.max_gap_pages = s.gap_pages;
  c.liveupdate_number = 7;
  HandoffBuilder b(c);
  for (int i = 0; i < s.opaque_flbs; ++i) {
    const uint64_t data = b.PreserveNew(static_cast<unsigned>(i % 3));
    b.AddFlb("test-flb-" + std::to_string(i), data, static_cast<uint64_t>(i + 1));
  }
  for (unsigned order : s.extra_orders) b.PreserveNew(order);
  absl::StatusOr<HandoffModel> m = std::move(b).Finish();
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : HandoffModel{};
}

class RoundTripTest : public ::testing::TestWithParam<Shape> {};

TEST_P(RoundTripTest, DecodeOfEncodeIsTheModel) {
  const Shape& s = GetParam();
  HandoffModel m = Build(s);
  absl::StatusOr<Image> image = EncodeHandoff(m);
  ASSERT_TRUE(image.ok()) << image.status();

  Decoder decoder(NoIommu());
  const DecodeResult& r = decoder.Decode(image->View());
  ASSERT_TRUE(r.ok()) << Problems(r.diag);
  // Opaque FLB data is preserved but nothing restores it: warnings only.
  for (const Problem& p : r.diag.problems()) {
    EXPECT_EQ(p.reason, Reason::kUnclaimedFolio) << p.ToString();
  }
  ::khoabi::testing::ExpectSameModel(r.handoff, m);

  // Re-encoding what was decoded reproduces every byte.
  absl::StatusOr<Image> again = EncodeHandoff(r.handoff);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(WriteElfImage(*again), WriteElfImage(*image));
}

TEST_P(RoundTripTest, EncodingIsDeterministic) {
  const Shape& s = GetParam();
  absl::StatusOr<Image> a = EncodeHandoff(Build(s));
  absl::StatusOr<Image> b = EncodeHandoff(Build(s));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(WriteElfImage(*a), WriteElfImage(*b));
}

TEST_P(RoundTripTest, SurvivesTheElfFile) {
  const Shape& s = GetParam();
  absl::StatusOr<Image> image = EncodeHandoff(Build(s));
  ASSERT_TRUE(image.ok());
  const std::string file = WriteElfImage(*image);
  Diagnostics diag(Options{});
  LoadedImage loaded =
      ReadElfImage(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(file.data()), file.size()),
                   Options{}, {}, &diag);
  ASSERT_TRUE(diag.ok()) << Problems(diag);
  EXPECT_EQ(loaded.view.root_pa, image->root_pa);
  Decoder decoder(NoIommu());
  const DecodeResult& r = decoder.Decode(loaded.view);
  EXPECT_TRUE(r.ok()) << Problems(r.diag);
}

std::vector<Shape> Shapes() {
  std::vector<Shape> out;
  for (KhoVersion v : {KhoVersion::kV1, KhoVersion::kV2}) {
    const std::string tag = v == KhoVersion::kV1 ? "v1" : "v2";
    out.push_back({"", v, 0x100000000, 0, 0, 0, {}});
    out.push_back({"", v, 0x100000000, 0, 0, 1, {}});
    out.push_back({"", v, 0x100000000, 0, 0, 5, {0, 1, 2, 9}});
    out.push_back({"", v, 0x1000, 0, 0, 2, {3, 3, 3}});       // low memory
    out.push_back({"", v, 0xfffffffff000000, 0, 0, 2, {4}});  // high in the address space
    out.push_back({"", v, 0x200000000, 42, 300, 10, {0, 0, 1, 5, 10}});  // scattered
    out.push_back({"", v, 0x8000000 - 0x3000, 0, 0, 3, {0}});  // straddles a 128 MiB v1 bitmap
    out.push_back({"", v, 0x100000000, 7, 1 << 16, 63, {}});   // full FLB page, sparse
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, RoundTripTest, ::testing::ValuesIn(Shapes()),
                         [](const ::testing::TestParamInfo<Shape>& info) {
                           return std::string(info.param.kho == KhoVersion::kV1 ? "kho_v1_"
                                                                                : "kho_v2_") +
                                  std::to_string(info.index);
                         });

}  // namespace
}  // namespace khoabi
