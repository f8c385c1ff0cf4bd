// The fuzz oracles must see what a decoder bug would produce. Each case takes
// an accepted decode, breaks one promise of "accepted means safe" in the
// result (as a buggy decoder would), and asserts CheckAcceptedInvariants or
// CheckReencode objects; the untouched result passes both.
#include "lib/oracle.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/handoff.h"
#include "lib/page_allocator.h"
#include "lib/scenario.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

struct Fixture {
  Image image;
  HandoffModel model;
};

Fixture Make(IommuAbi abi, std::vector<uint32_t> pasids = {}, uint32_t legacy_units = 0) {
  Scenario s;
  s.abi = abi;
  s.intel_units = 2;
  s.legacy_intel_units = legacy_units;
  s.devices = 4;
  s.pasids = std::move(pasids);
  absl::StatusOr<HandoffModel> m = BuildScenario(s);
  EXPECT_TRUE(m.ok()) << m.status();
  absl::StatusOr<Image> image = EncodeHandoff(*m);
  EXPECT_TRUE(image.ok());
  Fixture f{*std::move(image), {}};
  Decoder decoder;
  const DecodeResult& r = decoder.Decode(f.image.View());
  EXPECT_TRUE(r.ok());
  f.model = r.handoff;
  return f;
}

TEST(OracleTest, AValidDecodePasses) {
  for (IommuAbi abi : {IommuAbi::kA, IommuAbi::kB}) {
    Fixture f = Make(abi);
    const ImageView view = f.image.View();
    EXPECT_TRUE(CheckAcceptedInvariants(view, f.model).ok())
        << CheckAcceptedInvariants(view, f.model);
    EXPECT_TRUE(CheckReencode(view, f.model).ok()) << CheckReencode(view, f.model);
  }
}

struct Mutation {
  const char* what;
  IommuAbi abi;
  std::function<void(HandoffModel&)> apply;
};

TEST(OracleTest, EveryBrokenPromiseIsSeen) {
  const Mutation mutations[] = {
      {"reference index out of range", IommuAbi::kB,
       [](HandoffModel& m) { m.iommu->devices[0].unit = 99; }},
      {"device resolved to the wrong domain", IommuAbi::kB,
       [](HandoffModel& m) { m.iommu->devices[0].domain = 1; }},
      {"INCOMING on a unit", IommuAbi::kB,
       [](HandoffModel& m) { m.iommu->units[0].hdr.flags |= IOMMU_SER_FLAG_INCOMING; }},
      {"unknown flag on a domain", IommuAbi::kA,
       [](HandoffModel& m) { m.iommu->domains[0].hdr.flags |= 0x40; }},
      {"restored_domain set", IommuAbi::kA,
       [](HandoffModel& m) { m.iommu->domains[0].restored_domain = 0xffff888000001000ull; }},
      {"unit marked restored", IommuAbi::kB,
       [](HandoffModel& m) {
         iommu_intel_ser in = m.iommu->units[0].intel();
         in.restored = 1;
         m.iommu->units[0].set_intel(in);
       }},
      {"duplicate unit", IommuAbi::kB,
       [](HandoffModel& m) { m.iommu->units[1].token = m.iommu->units[0].token; }},
      {"duplicate device", IommuAbi::kA,
       [](HandoffModel& m) { m.iommu->devices[1].devid = m.iommu->devices[0].devid; }},
      {"a PASID table dropped from the result", IommuAbi::kB,
       [](HandoffModel& m) { m.iommu->devices[0].pasid.tables.clear(); }},
      {"a PASID entry altered in the result", IommuAbi::kB,
       [](HandoffModel& m) {
         PasidTable& t = m.iommu->devices[0].pasid.tables[0];
         pasid_entry e = t.entries.Get(0);
         e.val[1] ^= 1;
         t.entries.Set(0, e);
       }},
      {"two FLB entries with one name", IommuAbi::kB,
       [](HandoffModel& m) { m.luo.flbs.push_back(m.luo.flbs.back()); }},
      {"a folio dropped from the tracker", IommuAbi::kB,
       [](HandoffModel& m) { m.kho.tracker.folios.erase(m.kho.tracker.folios.begin()); }},
      {"a tracker page preserved", IommuAbi::kB,
       [](HandoffModel& m) {
         m.kho.tracker.folios.push_back({m.kho.tracker.root_pa(), 0});
         std::sort(m.kho.tracker.folios.begin(), m.kho.tracker.folios.end());
       }},
      {"array page count off by one", IommuAbi::kA,
       [](HandoffModel& m) { ++m.iommu->device_pages[0].nr_objects; }},
      {"a device's attachment id changed", IommuAbi::kB,
       [](HandoffModel& m) { m.iommu->devices[2].attachment_id += 1; }},
      {"a unit's register base changed", IommuAbi::kA,
       [](HandoffModel& m) {
         iommu_intel_ser in = m.iommu->units[1].intel();
         in.phys_addr += 0x1000;
         m.iommu->units[1].set_intel(in);
       }},
      {"liveupdate-number changed", IommuAbi::kB,
       [](HandoffModel& m) {
         m.luo.liveupdate_number += 1;
         m.luo.fdt_raw.clear();
       }},
  };
  for (const Mutation& mut : mutations) {
    Fixture f =
        Make(mut.abi, mut.abi == IommuAbi::kB ? std::vector<uint32_t>{5} : std::vector<uint32_t>{});
    mut.apply(f.model);
    const ImageView view = f.image.View();
    absl::Status inv = CheckAcceptedInvariants(view, f.model);
    absl::Status re = inv.ok() ? CheckReencode(view, f.model) : absl::OkStatus();
    EXPECT_FALSE(inv.ok() && re.ok()) << mut.what << ": neither oracle objects";
  }
}

// Promises about bytes of the image the result copies: the oracle reads them
// from the image itself, so a decoder that misread them is caught even where
// the round trip does not apply (lenient decodes).
TEST(OracleTest, IommuFlbSerIsReadFromTheImage) {
  for (IommuAbi abi : {IommuAbi::kA, IommuAbi::kB}) {
    Fixture f = Make(abi);
    const uint64_t ser = f.model.iommu->flb_ser_pa;
    const uint64_t device_head = abi == IommuAbi::kA ? 16 : 24;
    absl::Span<uint8_t> head = f.image.Mutable(ser + device_head, 8);
    ASSERT_EQ(head.size(), 8u);
    std::fill(head.begin(), head.end(), 0);
    EXPECT_FALSE(CheckAcceptedInvariants(f.image.View(), f.model).ok());
  }
  Fixture f = Make(IommuAbi::kB);
  absl::Span<uint8_t> version = f.image.Mutable(f.model.iommu->flb_ser_pa, 1);
  ASSERT_EQ(version.size(), 1u);
  version[0] = 2;
  EXPECT_FALSE(CheckAcceptedInvariants(f.image.View(), f.model).ok());
}

TEST(OracleTest, PasidStateWithoutADirectoryIsSeen) {
  Fixture f = Make(IommuAbi::kB, {}, /*legacy_units=*/1);
  IommuModel& io = *f.model.iommu;
  IommuDevice* bare = nullptr;
  for (IommuDevice& d : io.devices) {
    if (!d.hdr.deleted() && d.pasid_table(io.abi) == 0) bare = &d;
  }
  ASSERT_NE(bare, nullptr) << "the fixture needs a device without a PASID directory";
  const ImageView view = f.image.View();
  ASSERT_TRUE(CheckAcceptedInvariants(view, f.model).ok());
  bare->pasid.stale_dir_entries.push_back({3, 0x1000});
  EXPECT_FALSE(CheckAcceptedInvariants(view, f.model).ok());
}

TEST(OracleTest, PolicyIsChecked) {
  Fixture f = Make(IommuAbi::kB, {5});  // accepted under B's all-present policy
  const ImageView view = f.image.View();
  EXPECT_TRUE(CheckAcceptedInvariants(view, f.model).ok());
  Options no_pasid;
  no_pasid.pasid_policy = PasidPolicy::kNoPasidOnly;
  EXPECT_FALSE(CheckAcceptedInvariants(view, f.model, no_pasid).ok());
}

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

  EncodeOptions records_only;
  records_only.zero_fill_other_folios = false;
  absl::StatusOr<Image> image = EncodeHandoff(*m, records_only);
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
