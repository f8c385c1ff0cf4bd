// The preserving driver and the review's PASID rule (../shared/seed): under
// NO_PASID-only, a device with PASIDs in use is refused and nothing changes;
// a preserved device refuses PASID attachments until unpreserved; under
// all-present every present table is handed over.
#include "lib/iommu_preserver.h"

#include <cstring>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/handoff_builder.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;
using ::testing::HasSubstr;

struct Kernel {
  explicit Kernel(IommuAbi abi, PasidPolicy policy = PasidPolicy::kAbiDefault)
      : io(&builder, {abi, policy}) {
    unit = io.AddIntelUnit(0xfed90000);
    domain = io.AddDomain(unit, 4);
    dev = io.AddDevice(unit, 0, 0x3a, 0x10, 1u << 20);
  }
  HandoffBuilder builder;
  IommuPreserver io;
  int unit, domain, dev;
};

absl::StatusOr<HandoffModel> Finish(Kernel& k) {
  if (absl::Status s = k.io.Finish(); !s.ok()) return s;
  return std::move(k.builder).Finish();
}

TEST(IommuPreserverTest, NoPasidOnlyRefusesADeviceWithPasid5AttachedAndChangesNothing) {
  Kernel k(IommuAbi::kA);  // ABI A: the NO_PASID-only policy of the v2 posting
  ASSERT_EQ(k.io.policy(), PasidPolicy::kNoPasidOnly);
  ASSERT_TRUE(k.io.Attach(k.dev, k.domain).ok());
  ASSERT_TRUE(k.io.Attach(k.dev, k.domain, 5).ok());

  absl::Status s = k.io.PreserveDevice(k.dev);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("PASID 5 attached"));
  EXPECT_THAT(s.message(), HasSubstr("left untouched"));
  // Nothing was cleared behind the hardware's back: PASID 5 is still in use.
  EXPECT_THAT(k.io.PasidsInUse(k.dev), ::testing::ElementsAre(0u, 5u));

  // Detaching PASID 5 first (with the invalidations that implies) lets the
  // device be preserved; the handoff then holds PASID 0 only.
  ASSERT_TRUE(k.io.Detach(k.dev, 5).ok());
  ASSERT_TRUE(k.io.PreserveDevice(k.dev).ok());
  absl::StatusOr<HandoffModel> m = Finish(k);
  ASSERT_TRUE(m.ok()) << m.status();
  const IommuDevice& d = m->iommu->devices[0];
  ASSERT_EQ(d.pasid.tables.size(), 1u);
  int present = 0;
  d.pasid.ForEachPresent([&](uint32_t pasid, const pasid_entry&) {
    EXPECT_EQ(pasid, 0u);
    ++present;
  });
  EXPECT_EQ(present, 1);
}

TEST(IommuPreserverTest, PreservedDeviceRefusesNewPasidsUntilUnpreserved) {
  Kernel k(IommuAbi::kA);
  ASSERT_TRUE(k.io.Attach(k.dev, k.domain).ok());
  ASSERT_TRUE(k.io.PreserveDevice(k.dev).ok());
  absl::Status s = k.io.Attach(k.dev, k.domain, 7);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("refused until it is unpreserved"));
  EXPECT_THAT(k.io.PasidsInUse(k.dev), ::testing::ElementsAre(0u));

  ASSERT_TRUE(k.io.UnpreserveDevice(k.dev).ok());
  EXPECT_TRUE(k.io.Attach(k.dev, k.domain, 7).ok());
  EXPECT_THAT(k.io.PasidsInUse(k.dev), ::testing::ElementsAre(0u, 7u));
}

TEST(IommuPreserverTest, AllPresentHandsOverEveryPresentTable) {
  Kernel k(IommuAbi::kB);  // ABI B: all present PASIDs
  ASSERT_EQ(k.io.policy(), PasidPolicy::kAllPresent);
  ASSERT_TRUE(k.io.Attach(k.dev, k.domain).ok());
  for (uint32_t pasid : {5u, 64u, 4096u, (1u << 20) - 1}) {
    ASSERT_TRUE(k.io.Attach(k.dev, k.domain, pasid).ok()) << pasid;
  }
  ASSERT_TRUE(k.io.PreserveDevice(k.dev).ok());
  absl::StatusOr<HandoffModel> m = Finish(k);
  ASSERT_TRUE(m.ok()) << m.status();
  const IommuDevice& d = m->iommu->devices[0];
  EXPECT_EQ(d.pasid.tables.size(), 4u);  // tables 0, 1, 64, 16383
  std::vector<uint32_t> present;
  d.pasid.ForEachPresent([&](uint32_t pasid, const pasid_entry&) { present.push_back(pasid); });
  EXPECT_THAT(present, ::testing::ElementsAre(0u, 5u, 64u, 4096u, (1u << 20) - 1));

  absl::StatusOr<Image> image = EncodeHandoff(*m);
  ASSERT_TRUE(image.ok());
  Decoder decoder;
  const DecodeResult& r = decoder.Decode(image->View());
  EXPECT_TRUE(r.ok()) << Problems(r.diag);
}

TEST(IommuPreserverTest, StoresMaxPasidRoundedAsLinux) {
  HandoffBuilder b;
  IommuPreserver io(&b, {IommuAbi::kB});
  const int unit = io.AddIntelUnit(0xfed90000);
  const int dom = io.AddDomain(unit);
  // 1000 PASIDs -> 125 bytes -> order 0 -> 2^15 stored; 40000 -> order 1 -> 2^16.
  const int a = io.AddDevice(unit, 0, 1, 0, 1000);
  const int c = io.AddDevice(unit, 0, 2, 0, 40000);
  for (int dev : {a, c}) {
    ASSERT_TRUE(io.Attach(dev, dom).ok());
    ASSERT_TRUE(io.PreserveDevice(dev).ok());
  }
  ASSERT_TRUE(io.Finish().ok());
  absl::StatusOr<HandoffModel> m = std::move(b).Finish();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->iommu->devices[0].max_pasid(IommuAbi::kB), 1u << 15);
  EXPECT_EQ(m->iommu->devices[1].max_pasid(IommuAbi::kB), 1u << 16);
  // The directory folios carry those orders.
  for (const IommuDevice& d : m->iommu->devices) {
    bool found = false;
    for (const Folio& f : m->kho.tracker.folios) {
      if (f.pa != d.pasid_table(IommuAbi::kB)) continue;
      found = true;
      EXPECT_EQ(f.order, d.max_pasid(IommuAbi::kB) == (1u << 15) ? 0u : 1u);
    }
    EXPECT_TRUE(found);
  }
}

TEST(IommuPreserverTest, PreserveRequiresAnAttachedDevice) {
  Kernel k(IommuAbi::kB);
  absl::Status s = k.io.PreserveDevice(k.dev);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("no domain attached"));
}

TEST(IommuPreserverTest, UnpreservedDeviceStaysInPlaceFlaggedDeleted) {
  Kernel k(IommuAbi::kB);
  const int other = k.io.AddDevice(k.unit, 0, 0x3b, 0, 1u << 15);
  ASSERT_TRUE(k.io.Attach(k.dev, k.domain).ok());
  ASSERT_TRUE(k.io.Attach(other, k.domain).ok());
  ASSERT_TRUE(k.io.PreserveDevice(k.dev).ok());
  ASSERT_TRUE(k.io.PreserveDevice(other).ok());
  ASSERT_TRUE(k.io.UnpreserveDevice(k.dev).ok());
  absl::StatusOr<HandoffModel> m = Finish(k);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->iommu->devices.size(), 2u);
  EXPECT_TRUE(m->iommu->devices[0].hdr.deleted());
  EXPECT_FALSE(m->iommu->devices[1].hdr.deleted());
  EXPECT_EQ(m->iommu->units[0].hdr.ref_count, 2u);  // itself + one live device
  absl::StatusOr<Image> image = EncodeHandoff(*m);
  ASSERT_TRUE(image.ok());
  Decoder decoder;
  const DecodeResult& r = decoder.Decode(image->View());
  EXPECT_TRUE(r.ok()) << Problems(r.diag);
  EXPECT_EQ(r.diag.warnings(), 0u) << Problems(r.diag);
}

// The seed's scenario, restore side: a handoff whose table 0 has PASID 5
// present (what the buggy clearing path could leave behind, or a stale
// image) is rejected under NO_PASID-only with the policy reason.
TEST(IommuPreserverTest, SeedScenarioIsRejectedOnRestore) {
  Kernel k(IommuAbi::kA);
  ASSERT_TRUE(k.io.Attach(k.dev, k.domain).ok());
  ASSERT_TRUE(k.io.PreserveDevice(k.dev).ok());
  absl::StatusOr<HandoffModel> m = Finish(k);
  ASSERT_TRUE(m.ok());
  PasidTable& table0 = m->iommu->devices[0].pasid.tables[0];
  table0.entries.Set(5, table0.entries.Get(0));
  absl::StatusOr<Image> image = EncodeHandoff(*m);
  ASSERT_TRUE(image.ok());
  Decoder decoder;  // ABI A: NO_PASID-only by default
  const DecodeResult& r = decoder.Decode(image->View());
  ASSERT_FALSE(r.ok());
  const Problem* p = r.diag.first_error();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->reason, Reason::kPasidPolicyPasidInUse);
  EXPECT_STREQ(p->path, "iommu.devices[0].intel.pasid_dir[0].table[5]");
  EXPECT_EQ(p->pa, table0.pa() + 5 * 64);

  // The same bytes are a valid handoff for a restorer that accepts every
  // present PASID.
  Options all;
  all.pasid_policy = PasidPolicy::kAllPresent;
  Decoder permissive(all);
  EXPECT_TRUE(permissive.Decode(image->View()).ok());
}

}  // namespace
}  // namespace khoabi

namespace khoabi {
namespace {

// Under all-present, a PASID entry is handed over as is, so the page tables
// it points at must be preserved: the domain of every attached PASID
// (review finding: only PASID 0's domain was).
TEST(IommuPreserverTest, AllPresentPreservesTheDomainOfEveryPasid) {
  HandoffBuilder b;
  IommuPreserver io(&b, {IommuAbi::kB});
  const int unit = io.AddIntelUnit(0xfed90000);
  const int d0 = io.AddDomain(unit), d1 = io.AddDomain(unit);
  const int dev = io.AddDevice(unit, 0, 1, 0, 1u << 16);
  ASSERT_TRUE(io.Attach(dev, d0).ok());
  ASSERT_TRUE(io.Attach(dev, d1, 70).ok());
  ASSERT_TRUE(io.PreserveDevice(dev).ok());
  ASSERT_TRUE(io.Finish().ok());
  absl::StatusOr<HandoffModel> m = std::move(b).Finish();
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->iommu->domains.size(), 2u);
  const pasid_entry e = m->iommu->devices[0].pasid.Entry(70);
  bool found = false;
  for (const IommuDomain& d : m->iommu->domains) found |= d.top_table_phys == vtd_pe_slptptr(&e);
  EXPECT_TRUE(found) << "PASID 70's page table is not a preserved domain's";
  bool preserved = false;
  for (const Folio& f : m->kho.tracker.folios) preserved |= f.pa == vtd_pe_slptptr(&e);
  EXPECT_TRUE(preserved);
}

}  // namespace
}  // namespace khoabi
