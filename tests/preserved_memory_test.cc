// PreservedMemory: folio claims with kho_restore_folio() semantics
// (spec/handoff.md, "Restoring a folio"; validation.md, "Folio claims" and
// "Tracker"): a claim succeeds only at the start of a preserved folio, once,
// with the order the record needs; the wrong order still consumes the folio.
#include "lib/preserved_memory.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

constexpr uint64_t kTopPage = 0xfffffffffffff000;

// Memory at [0x10000, 0x20000) and the last page of the address space.
class PreservedMemoryTest : public ::testing::Test {
 protected:
  PreservedMemoryTest() : low_(0x10000, 0), top_(kPageSize, 0), reader_(view_) {
    view_.segments = {{0x10000, absl::MakeConstSpan(low_)}, {kTopPage, absl::MakeConstSpan(top_)}};
    diag_.Reset(Options{});
  }

  // Adds the folios and finalizes; expects no error.
  void Preserve(const std::vector<Folio>& folios) {
    for (const Folio& f : folios) memory_.Add(f.pa, f.order);
    ASSERT_TRUE(memory_.Finalize(reader_, path_, diag_)) << Problems(diag_);
  }

  bool Claim(uint64_t pa, uint32_t order) {
    Path::Scope s = path_.Enter("record");
    return memory_.Claim(pa, order, path_, diag_);
  }

  // The last problem reported, which must be `want` at "record".
  void ExpectLast(Reason want, uint64_t pa) {
    ASSERT_FALSE(diag_.problems().empty());
    const Problem& p = diag_.problems().back();
    EXPECT_EQ(p.reason, want) << Problems(diag_);
    EXPECT_EQ(p.pa, pa) << Problems(diag_);
    EXPECT_STREQ(p.path, "record");
  }

  std::vector<uint8_t> low_, top_;
  ImageView view_;
  ImageReader reader_;
  Path path_;
  Diagnostics diag_;
  PreservedMemory memory_;
};

TEST_F(PreservedMemoryTest, ClaimAtTheStartOfAFolioSucceedsOnce) {
  Preserve({{0x10000, 0}, {0x12000, 1}, {0x14000, 2}});
  EXPECT_TRUE(Claim(0x12000, 1));
  EXPECT_TRUE(diag_.ok()) << Problems(diag_);
  EXPECT_FALSE(Claim(0x12000, 1));
  ExpectLast(Reason::kClaimTwice, 0x12000);
  EXPECT_TRUE(Claim(0x10000, 0));
  EXPECT_TRUE(Claim(0x14000, 2));
  EXPECT_EQ(diag_.errors(), 1u);
}

TEST_F(PreservedMemoryTest, ClaimInsideAFolioIsNotPreserved) {
  Preserve({{0x12000, 1}, {0x14000, 2}});
  for (uint64_t pa : {uint64_t{0x13000}, uint64_t{0x12008}, uint64_t{0x17fff}}) {
    SCOPED_TRACE(pa);
    EXPECT_FALSE(Claim(pa, 0));
    ExpectLast(Reason::kClaimNotPreserved, pa);
  }
  // The folios themselves are untouched by the failed claims.
  EXPECT_TRUE(Claim(0x12000, 1));
  EXPECT_TRUE(Claim(0x14000, 2));
}

TEST_F(PreservedMemoryTest, ClaimOfUnpreservedMemoryIsNotPreserved) {
  Preserve({{0x12000, 0}});
  for (uint64_t pa : {uint64_t{0}, uint64_t{0x11000}, uint64_t{0x13000}, ~uint64_t{0}}) {
    SCOPED_TRACE(pa);
    EXPECT_FALSE(Claim(pa, 0));
    ExpectLast(Reason::kClaimNotPreserved, pa);
  }
}

TEST_F(PreservedMemoryTest, ClaimWithTheWrongOrderConsumesTheFolio) {
  Preserve({{0x14000, 2}, {0x10000, 0}});
  EXPECT_FALSE(Claim(0x14000, 0));
  ExpectLast(Reason::kClaimWrongOrder, 0x14000);
  // "A claim with the wrong order still consumes the folio."
  EXPECT_FALSE(Claim(0x14000, 2));
  ExpectLast(Reason::kClaimTwice, 0x14000);
  // A larger order than preserved is as wrong as a smaller one.
  EXPECT_FALSE(Claim(0x10000, 1));
  ExpectLast(Reason::kClaimWrongOrder, 0x10000);
}

TEST_F(PreservedMemoryTest, WrongOrderReasonCanBeChosenByTheCaller) {
  Preserve({{0x18000, 3}});
  Path::Scope s = path_.Enter("record");
  EXPECT_FALSE(memory_.Claim(0x18000, 1, path_, diag_, Reason::kPasidDirOrder));
  ExpectLast(Reason::kPasidDirOrder, 0x18000);
}

TEST_F(PreservedMemoryTest, ClaimOutsideTheImage) {
  Preserve({{0x40000, 0}, {0x1f000, 1}});  // wholly outside; half outside
  EXPECT_EQ(diag_.warnings(), 2u) << Problems(diag_);
  EXPECT_FALSE(Claim(0x40000, 0));
  ExpectLast(Reason::kClaimOutsideImage, 0x40000);
  EXPECT_FALSE(Claim(0x1f000, 1));
  ExpectLast(Reason::kClaimOutsideImage, 0x1f000);
}

TEST_F(PreservedMemoryTest, FolioOutsideImageIsAWarningWithItsPa) {
  Preserve({{0x10000, 0}, {0x1f000, 1}, {0x80000, 4}});
  EXPECT_TRUE(diag_.ok());
  std::vector<uint64_t> pas;
  for (const Problem& p : diag_.problems()) {
    EXPECT_EQ(p.reason, Reason::kFolioOutsideImage);
    EXPECT_EQ(p.severity, Severity::kWarning);
    pas.push_back(p.pa);
  }
  EXPECT_EQ(pas, (std::vector<uint64_t>{0x1f000, 0x80000}));
  ASSERT_EQ(memory_.entries().size(), 3u);
  EXPECT_TRUE(memory_.entries()[0].in_image);
  EXPECT_FALSE(memory_.entries()[1].in_image);
}

TEST_F(PreservedMemoryTest, TheLastPageOfTheAddressSpaceCanBeClaimed) {
  Preserve({{kTopPage, 0}, {kTopPage - kPageSize, 0}});
  EXPECT_TRUE(Claim(kTopPage, 0)) << Problems(diag_);
  EXPECT_FALSE(Claim(kTopPage + 0x800, 0));
  ExpectLast(Reason::kClaimNotPreserved, kTopPage + 0x800);
  EXPECT_FALSE(Claim(kTopPage - kPageSize, 0));  // preserved, not in the image
  ExpectLast(Reason::kClaimOutsideImage, kTopPage - kPageSize);
}

// --- Overlaps: Finalize -------------------------------------------------------

struct OverlapCase {
  const char* name;
  std::vector<Folio> folios;
  uint64_t reported_pa;  // the later folio of the overlapping pair
};

class OverlapTest : public ::testing::TestWithParam<OverlapCase> {};

TEST_P(OverlapTest, FinalizeReportsTrackerOverlap) {
  const OverlapCase& c = GetParam();
  ImageView view;
  ImageReader reader(view);
  Diagnostics diag(Options{});
  Path path;
  Path::Scope s = path.Enter("kho");
  PreservedMemory memory;
  for (const Folio& f : c.folios) memory.Add(f.pa, f.order);
  EXPECT_FALSE(memory.Finalize(reader, path, diag));
  ASSERT_NE(diag.first_error(), nullptr) << Problems(diag);
  EXPECT_EQ(diag.first_error()->reason, Reason::kTrackerOverlap);
  EXPECT_EQ(diag.first_error()->pa, c.reported_pa);
  EXPECT_EQ(std::string(diag.first_error()->path).rfind("kho.preserved.folio[", 0), 0u)
      << diag.first_error()->path;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, OverlapTest,
    ::testing::Values(
        OverlapCase{"same_folio_twice", {{0x10000, 0}, {0x10000, 0}}, 0x10000},
        OverlapCase{"order1_over_order0_at_its_start", {{0x10000, 0}, {0x10000, 1}}, 0x10000},
        OverlapCase{"order1_over_order0_in_its_second_page", {{0x10000, 1}, {0x11000, 0}}, 0x11000},
        OverlapCase{"large_folio_covers_a_later_small_one", {{0x100000, 0}, {0, 20}}, 0x100000},
        OverlapCase{"order_52_covers_everything", {{0, 52}, {kTopPage, 0}}, kTopPage},
        OverlapCase{"at_the_top", {{kTopPage - kPageSize, 1}, {kTopPage, 0}}, kTopPage}),
    [](const ::testing::TestParamInfo<OverlapCase>& info) { return info.param.name; });

TEST(PreservedMemory, AdjacentFoliosDoNotOverlap) {
  ImageView view;
  ImageReader reader(view);
  Diagnostics diag(Options{});
  Path path;
  PreservedMemory memory;
  memory.Add(0x10000, 1);
  memory.Add(0x12000, 0);
  memory.Add(0x0, 4);
  memory.Add(kTopPage, 0);
  memory.Add(kTopPage - kPageSize, 0);
  EXPECT_TRUE(memory.Finalize(reader, path, diag)) << Problems(diag);
  EXPECT_FALSE(diag.Has(Reason::kTrackerOverlap));
  // Sorted by PA afterwards.
  ASSERT_EQ(memory.entries().size(), 5u);
  for (size_t i = 1; i < memory.entries().size(); ++i) {
    EXPECT_LT(memory.entries()[i - 1].pa, memory.entries()[i].pa);
  }
}

TEST(PreservedMemory, FindAndCovering) {
  ImageView view;
  ImageReader reader(view);
  Diagnostics diag(Options{});
  Path path;
  PreservedMemory memory;
  memory.Add(0x20000, 3);
  memory.Add(0x10000, 0);
  ASSERT_TRUE(memory.Finalize(reader, path, diag));
  ASSERT_NE(memory.Find(0x20000), nullptr);
  EXPECT_EQ(memory.Find(0x20000)->order, 3u);
  EXPECT_EQ(memory.Find(0x21000), nullptr);
  ASSERT_NE(memory.Covering(0x27fff), nullptr);
  EXPECT_EQ(memory.Covering(0x27fff)->pa, 0x20000u);
  EXPECT_EQ(memory.Covering(0x28000), nullptr);
  EXPECT_EQ(memory.Covering(0xffff), nullptr);
  EXPECT_EQ(memory.Covering(0x11000), nullptr);
}

// --- Unclaimed folios ---------------------------------------------------------

TEST_F(PreservedMemoryTest, ReportUnclaimedWarnsAboutExactlyTheUnclaimed) {
  Preserve({{0x10000, 0}, {0x11000, 0}, {0x12000, 1}, {0x14000, 2}});
  EXPECT_TRUE(Claim(0x11000, 0));
  EXPECT_FALSE(Claim(0x14000, 0));  // wrong order: consumed, so not leaked
  Diagnostics unclaimed(Options{});
  Path path;
  memory_.ReportUnclaimed(path, unclaimed);
  EXPECT_TRUE(unclaimed.ok());
  std::vector<uint64_t> pas;
  for (const Problem& p : unclaimed.problems()) {
    EXPECT_EQ(p.reason, Reason::kUnclaimedFolio);
    EXPECT_EQ(std::string(p.path).rfind("preserved.folio[", 0), 0u) << p.path;
    pas.push_back(p.pa);
  }
  EXPECT_EQ(pas, (std::vector<uint64_t>{0x10000, 0x12000}));
}

TEST_F(PreservedMemoryTest, ClearForgetsFoliosAndClaims) {
  Preserve({{0x10000, 0}});
  EXPECT_TRUE(Claim(0x10000, 0));
  memory_.Clear();
  EXPECT_EQ(memory_.size(), 0u);
  Preserve({{0x10000, 0}});
  EXPECT_TRUE(Claim(0x10000, 0)) << "a claim from before Clear must not linger";
}

// --- FolioFits ----------------------------------------------------------------

TEST(FolioFits, EndsAtOrBelowTwoToThe64) {
  EXPECT_TRUE(FolioFits(0, 0));
  EXPECT_TRUE(FolioFits(kTopPage, 0));             // last byte is 2^64 - 1
  EXPECT_FALSE(FolioFits(kTopPage, 1));            // would end at 2^64 + 4 KiB
  EXPECT_FALSE(FolioFits(kTopPage + 1, 0));        // unaligned, crosses 2^64
  EXPECT_TRUE(FolioFits(0xffffffffffffe000, 1));   // ends exactly at 2^64
  EXPECT_TRUE(FolioFits(0x8000000000000000, 51));  // the upper half
  EXPECT_FALSE(FolioFits(0x8000000000000000, 52));
  EXPECT_TRUE(FolioFits(0, 52));  // all of it
  EXPECT_FALSE(FolioFits(0, 53));
  EXPECT_FALSE(FolioFits(0, 64));
  EXPECT_FALSE(FolioFits(0, ~0u));
}

}  // namespace
}  // namespace khoabi
