// The checked-in IOMMU golden images: every build decodes them, encodes them
// byte for byte, rejects each under a decoder that only accepts the other
// ABI, and survives every bit flip and truncation of their IOMMU array pages
// and PASID pages (clean under --config=asan).
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "lib/oracle.h"
#include "tests/golden_iommu_scenarios.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::GoldenIommu;
using ::khoabi::testing::Problems;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

class GoldenIommuTest : public ::testing::TestWithParam<GoldenIommu> {
 protected:
  void SetUp() override {
    file_ = ReadFile(std::string("tests/testdata/") + GetParam().file);
    Diagnostics diag{Options{}};
    loaded_ = ReadElfImage(Bytes(file_), Options{}, {}, &diag);
    ASSERT_TRUE(diag.ok()) << Problems(diag);
  }
  std::string file_;
  LoadedImage loaded_;
};

TEST_P(GoldenIommuTest, DecodesToWhatTheScenarioDescribes) {
  const Scenario& s = GetParam().scenario;
  Decoder decoder;
  const DecodeResult& r = decoder.Decode(loaded_.view);
  ASSERT_TRUE(r.ok()) << Problems(r.diag);
  EXPECT_EQ(r.diag.warnings(), 0u) << Problems(r.diag);
  ASSERT_TRUE(r.handoff.iommu.has_value());
  const IommuModel& io = *r.handoff.iommu;
  EXPECT_EQ(io.abi, s.abi);
  EXPECT_EQ(r.handoff.kho.version, s.kho);
  EXPECT_EQ(io.units.size(), static_cast<size_t>(s.intel_units + s.smmu_units));
  size_t live = 0;
  for (const IommuDevice& d : io.devices) {
    if (d.hdr.deleted()) continue;
    ++live;
    const IommuUnit* unit = io.UnitOf(d);
    ASSERT_NE(unit, nullptr);
    if (unit->type != IOMMU_SER_TYPE_INTEL) continue;
    // PASID 0 plus the scenario's PASIDs, each attached to the device's domain.
    std::set<uint32_t> present;
    d.pasid.ForEachPresent([&](uint32_t pasid, const pasid_entry& e) {
      present.insert(pasid);
      EXPECT_EQ(vtd_pe_did(&e), d.attachment_id);
      EXPECT_EQ(vtd_pe_slptptr(&e), io.DomainOf(d)->top_table_phys);
    });
    std::set<uint32_t> want(s.pasids.begin(), s.pasids.end());
    want.insert(0);
    EXPECT_EQ(present, want);
  }
  EXPECT_EQ(live, static_cast<size_t>(s.devices - s.unpreserve));
  EXPECT_TRUE(CheckAcceptedInvariants(loaded_.view, r.handoff).ok());
}

TEST_P(GoldenIommuTest, TheEncoderStillWritesTheseBytes) {
  absl::StatusOr<HandoffModel> m = BuildScenario(GetParam().scenario);
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<Image> image = EncodeHandoff(*m);
  ASSERT_TRUE(image.ok());
  EXPECT_TRUE(WriteElfImage(*image) == file_)
      << "the encoder's output changed for " << GetParam().file;
  Decoder decoder;
  const DecodeResult& r = decoder.Decode(loaded_.view);
  absl::StatusOr<Image> again = EncodeHandoff(r.handoff);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(WriteElfImage(*again) == file_) << "re-encoding the decoded handoff changes bytes";
}

TEST_P(GoldenIommuTest, RejectedByADecoderOfTheOtherAbi) {
  Options o;
  (GetParam().scenario.abi == IommuAbi::kA ? o.accept_iommu_a : o.accept_iommu_b) = false;
  Decoder decoder(o);
  const DecodeResult& r = decoder.Decode(loaded_.view);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diag.first_error()->reason, Reason::kIommuAbiNotAccepted);
}

// Bits of every IOMMU array page, iommu_flb_ser and PASID page: the
// decoder either rejects with a reason or accepts, and when it accepts, the
// independent oracles hold.
TEST_P(GoldenIommuTest, BitFlipsOfIommuAndPasidPages) {
  Decoder reference;
  const HandoffModel model = reference.Decode(loaded_.view).handoff;
  std::vector<uint64_t> pages;
  const IommuModel& io = *model.iommu;
  pages.push_back(io.flb_ser_pa);
  for (const auto* list : {&io.unit_pages, &io.domain_pages, &io.device_pages}) {
    for (const IommuArrayPage& p : *list) pages.push_back(p.pa);
  }
  for (const IommuDevice& d : io.devices) {
    if (d.pasid.tables.empty()) continue;
    pages.push_back(d.pasid_table(io.abi));
    for (const PasidTable& t : d.pasid.tables) pages.push_back(t.pa());
  }
  absl::StatusOr<Image> base = Image::FromSegments(0, {});
  // A mutable copy of the image's memory.
  std::vector<Image::Segment> segs;
  for (const SegmentView& s : loaded_.view.segments) {
    segs.push_back({s.pa, std::vector<uint8_t>(s.bytes.begin(), s.bytes.end())});
  }
  absl::StatusOr<Image> image = Image::FromSegments(loaded_.view.root_pa, std::move(segs));
  ASSERT_TRUE(image.ok());
  const ImageView view = image->View();

  Options o;
  o.stop_at_first_error = true;
  Decoder decoder(o);
  uint64_t flips = 0, accepted = 0;
  for (uint64_t page : pages) {
    absl::Span<uint8_t> bytes = image->Mutable(page, kPageSize);
    ASSERT_FALSE(bytes.empty());
    // Every bit up to the last non-zero byte (and one 64-byte block past it);
    // in the zero tail every bit of one byte per 64-byte block: each block
    // there is an unused array slot, PASID entry or directory entry group.
    size_t used = bytes.size();
    while (used > 0 && bytes[used - 1] == 0) --used;
    used = std::min(bytes.size(), used + 64);
    for (size_t byte = 0; byte < bytes.size(); byte += byte < used ? 1 : 64) {
      for (int bit = 0; bit < 8; ++bit) {
        bytes[byte] ^= static_cast<uint8_t>(1u << bit);
        const DecodeResult& r = decoder.Decode(view);
        ++flips;
        ASSERT_LE(r.work, r.work_budget);
        if (r.ok()) {
          ++accepted;
          absl::Status inv = CheckAcceptedInvariants(view, r.handoff);
          ASSERT_TRUE(inv.ok()) << inv << " after flipping bit " << bit << " of byte " << byte
                                << " of the page at " << std::hex << page;
          absl::Status re = CheckReencode(view, r.handoff);
          ASSERT_TRUE(re.ok()) << re << " after flipping bit " << bit << " of byte " << byte
                               << " of the page at " << std::hex << page;
        } else {
          ASSERT_NE(r.diag.first_error(), nullptr);
        }
        bytes[byte] ^= static_cast<uint8_t>(1u << bit);
      }
    }
  }
  EXPECT_GT(flips, pages.size() * 8 * 64);
  RecordProperty("flips", std::to_string(flips));
  RecordProperty("accepted", std::to_string(accepted));
}

// Every truncation of the memory inside those pages, in steps of 8 bytes.
TEST_P(GoldenIommuTest, EveryTruncationInsideIommuPages) {
  Decoder reference;
  const HandoffModel model = reference.Decode(loaded_.view).handoff;
  const IommuModel& io = *model.iommu;
  std::vector<uint64_t> pages = {io.flb_ser_pa};
  for (const auto* list : {&io.unit_pages, &io.domain_pages, &io.device_pages}) {
    for (const IommuArrayPage& p : *list) pages.push_back(p.pa);
  }
  Options o;
  o.stop_at_first_error = true;
  Decoder decoder(o);
  for (uint64_t page : pages) {
    for (uint64_t keep = 0; keep < kPageSize; keep += 8) {
      // The image without the bytes of [page + keep, page + 4096).
      ImageView cut;
      cut.root_pa = loaded_.view.root_pa;
      for (const SegmentView& s : loaded_.view.segments) {
        const uint64_t end = s.pa + s.bytes.size();
        if (page + kPageSize <= s.pa || page >= end) {
          cut.segments.push_back(s);
          continue;
        }
        if (page + keep > s.pa)
          cut.segments.push_back({s.pa, s.bytes.subspan(0, page + keep - s.pa)});
        if (page + kPageSize < end) {
          cut.segments.push_back({page + kPageSize, s.bytes.subspan(page + kPageSize - s.pa)});
        }
      }
      const DecodeResult& r = decoder.Decode(cut);
      ASSERT_FALSE(r.ok()) << "accepted with page " << std::hex << page << " cut at " << keep;
      ASSERT_LE(r.work, r.work_budget);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenIommuTest,
                         ::testing::ValuesIn(::khoabi::testing::GoldenIommuImages()),
                         [](const ::testing::TestParamInfo<GoldenIommu>& i) {
                           return i.param.scenario.abi == IommuAbi::kA ? std::string("abi_a")
                                                                       : std::string("abi_b");
                         });

}  // namespace
}  // namespace khoabi
