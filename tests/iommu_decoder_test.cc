// Decoder-side IOMMU behaviour not covered by one corruption: ABI acceptance,
// policies, a full 2^20-PASID directory, paths of nested problems.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/scenario.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

Image Encode(const Scenario& s) {
  absl::StatusOr<HandoffModel> m = BuildScenario(s);
  EXPECT_TRUE(m.ok()) << m.status();
  absl::StatusOr<Image> image = EncodeHandoff(*m);
  EXPECT_TRUE(image.ok()) << image.status();
  return *std::move(image);
}

TEST(IommuDecoderTest, EachAbiIsRejectedByADecoderThatOnlyAcceptsTheOther) {
  for (IommuAbi abi : {IommuAbi::kA, IommuAbi::kB}) {
    Scenario s;
    s.abi = abi;
    s.devices = 3;
    Image image = Encode(s);
    Options only_a, only_b;
    only_a.accept_iommu_b = false;
    only_b.accept_iommu_a = false;
    Decoder a(only_a), b(only_b);
    const DecodeResult& ra = a.Decode(image.View());
    EXPECT_EQ(ra.ok(), abi == IommuAbi::kA) << Problems(ra.diag);
    const DecodeResult& rb = b.Decode(image.View());
    EXPECT_EQ(rb.ok(), abi == IommuAbi::kB) << Problems(rb.diag);
    const DecodeResult& rejected =
        abi == IommuAbi::kA ? b.Decode(image.View()) : a.Decode(image.View());
    ASSERT_NE(rejected.diag.first_error(), nullptr);
    EXPECT_EQ(rejected.diag.first_error()->reason, Reason::kIommuAbiNotAccepted);
    EXPECT_EQ(rejected.diag.ToStatus().code(), absl::StatusCode::kUnimplemented);
  }
}

TEST(IommuDecoderTest, FullDirectoryOfAllPresentPasidsDecodes) {
  Scenario s;
  s.abi = IommuAbi::kB;
  s.devices = 1;
  s.max_pasid = 1u << 20;
  for (uint32_t p = 64; p < (1u << 20); p += 64) s.pasids.push_back(p);  // one per table
  Image image = Encode(s);
  Decoder decoder;
  const DecodeResult& r = decoder.Decode(image.View());
  ASSERT_TRUE(r.ok()) << Problems(r.diag);
  const IommuDevice& d = r.handoff.iommu->devices[0];
  EXPECT_EQ(d.pasid.tables.size(), 16384u);
  EXPECT_TRUE(d.pasid.tables[100].entries.is_view());  // not copied
  EXPECT_LE(r.work, r.work_budget);
}

TEST(IommuDecoderTest, NoPasidPolicyCanBeRequiredOfAbiB) {
  Scenario s;
  s.abi = IommuAbi::kB;
  s.pasids = {9};
  Image image = Encode(s);
  Options strict;
  strict.pasid_policy = PasidPolicy::kNoPasidOnly;
  Decoder decoder(strict);
  const DecodeResult& r = decoder.Decode(image.View());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diag.first_error()->reason, Reason::kPasidPolicyPasidInUse);
  EXPECT_THAT(r.diag.first_error()->path,
              ::testing::StartsWith("iommu.devices[0].intel.pasid_dir"));
  Decoder by_default;  // B's own policy: all present
  EXPECT_TRUE(by_default.Decode(image.View()).ok());
}

TEST(IommuDecoderTest, AbiANoDevicesIsEmptyListsNotAnError) {
  Scenario s;
  s.abi = IommuAbi::kA;
  s.devices = 0;
  s.intel_units = 0;
  Image image = Encode(s);
  Decoder decoder;
  const DecodeResult& r = decoder.Decode(image.View());
  EXPECT_TRUE(r.ok()) << Problems(r.diag);
}

TEST(IommuDecoderTest, StopAtFirstErrorReportsOneError) {
  Scenario s;
  s.devices = 4;
  s.pasids = {1, 2, 3};
  s.abi = IommuAbi::kB;
  Image image = Encode(s);
  Options o;
  o.pasid_policy = PasidPolicy::kNoPasidOnly;
  o.stop_at_first_error = true;
  Decoder decoder(o);
  const DecodeResult& r = decoder.Decode(image.View());
  EXPECT_EQ(r.diag.errors(), 1u) << Problems(r.diag);
  o.stop_at_first_error = false;
  Decoder all(o);
  EXPECT_EQ(all.Decode(image.View()).diag.errors(), 4u * 3u);
}

TEST(IommuDecoderTest, LimitsAreTheirOwnReasons) {
  Scenario s;
  s.devices = 100;
  Image image = Encode(s);
  struct Case {
    void (*set)(Options&);
    Reason reason;
  } cases[] = {
      {[](Options& o) { o.max_objects = 10; }, Reason::kLimitObjects},
      {[](Options& o) { o.max_devices = 10; }, Reason::kLimitObjects},
      {[](Options& o) { o.max_chain_pages = 1; }, Reason::kLimitChainLength},
      {[](Options& o) { o.max_pasid_tables = 10; }, Reason::kLimitPasidTables},
      {[](Options& o) { o.max_work = 1000; }, Reason::kLimitWork},
      {[](Options& o) { o.max_folios = 10; }, Reason::kLimitFolios},
      {[](Options& o) { o.max_tracker_pages = 2; }, Reason::kLimitTrackerPages},
      {[](Options& o) { o.max_image_bytes = 4096; }, Reason::kLimitImageSize},
      {[](Options& o) { o.max_fdt_depth = 1; }, Reason::kLimitFdtDepth},
  };
  for (const Case& c : cases) {
    Options o;
    c.set(o);
    Decoder decoder(o);
    const DecodeResult& r = decoder.Decode(image.View());
    ASSERT_FALSE(r.ok()) << ReasonName(c.reason);
    EXPECT_TRUE(r.diag.Has(c.reason)) << ReasonName(c.reason) << "\n" << Problems(r.diag);
    EXPECT_EQ(GetReasonInfo(c.reason).code, absl::StatusCode::kResourceExhausted);
  }
}

// kho-v1 bitmap pages are tracker pages too: the limit counts them.
TEST(IommuDecoderTest, TrackerPageLimitCountsKhoV1Bitmaps) {
  Scenario s;
  s.kho = KhoVersion::kV1;
  s.devices = 3;
  absl::StatusOr<HandoffModel> m = BuildScenario(s);
  ASSERT_TRUE(m.ok()) << m.status();
  const TrackerModel& t = m->kho.tracker;
  ASSERT_GT(t.page_count(), t.chunks.size()) << "needs bitmap pages";
  Image image = Encode(s);
  Options o;
  o.max_tracker_pages = t.page_count();
  EXPECT_TRUE(Decoder(o).Decode(image.View()).ok());
  o.max_tracker_pages = t.page_count() - 1;
  Decoder decoder(o);
  const DecodeResult& r = decoder.Decode(image.View());
  EXPECT_TRUE(r.diag.Has(Reason::kLimitTrackerPages)) << Problems(r.diag);
}

}  // namespace
}  // namespace khoabi

namespace khoabi {
namespace {

// Other FLBs are not ours to judge, even with an IOMMU-like name
// (review finding: "iommufd-v1" was rejected).
TEST(IommuDecoderTest, OtherFlbsAreIgnoredEvenWithIommuLikeNames) {
  Scenario s;
  s.devices = 2;
  absl::StatusOr<HandoffModel> m = BuildScenario(s);
  ASSERT_TRUE(m.ok());
  m->luo.flbs.push_back(FlbEntry::Make("iommufd-v1", 0, 1));
  absl::StatusOr<Image> image = EncodeHandoff(*m);
  ASSERT_TRUE(image.ok());
  Decoder decoder;
  EXPECT_TRUE(decoder.Decode(image->View()).ok()) << Problems(decoder.Decode(image->View()).diag);
  // A name of the IOMMU live-update family that no supported ABI uses, with
  // no supported entry beside it, is an unsupported version.
  m->luo.flbs.back() = FlbEntry::Make("iommu-liveupdate-v2", 0, 1);
  for (FlbEntry& e : m->luo.flbs) {
    if (e.name() == "iommu-liveupdate") e = FlbEntry::Make("iommu-liveupdate-v3", e.data, e.count);
  }
  image = EncodeHandoff(*m);
  ASSERT_TRUE(image.ok());
  const DecodeResult& r = decoder.Decode(image->View());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diag.first_error()->reason, Reason::kIommuUnknownCompatible);
  EXPECT_EQ(r.diag.ToStatus().code(), absl::StatusCode::kUnimplemented);
}

// A reused Decoder must not show the previous image's state after an early
// failure (review finding).
TEST(IommuDecoderTest, AReusedDecoderForgetsThePreviousImage) {
  Scenario s;
  absl::StatusOr<HandoffModel> m = BuildScenario(s);
  ASSERT_TRUE(m.ok());
  absl::StatusOr<Image> image = EncodeHandoff(*m);
  ASSERT_TRUE(image.ok());
  Decoder decoder;
  ASSERT_TRUE(decoder.Decode(image->View()).ok());
  ImageView bad = image->View();
  bad.root_pa = 0x1000;  // outside the image
  const DecodeResult& r = decoder.Decode(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.handoff.kho.tracker.folios.empty());
  EXPECT_TRUE(r.handoff.kho.root_fdt_raw.empty());
  EXPECT_FALSE(r.handoff.iommu.has_value());
}

}  // namespace
}  // namespace khoabi
