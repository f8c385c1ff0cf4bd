// Golden handoff images (tests/testdata/kho_v*_luo_two_flbs.elf, written once
// by make_golden_kho from golden_kho_model.h and never edited):
// - each decodes cleanly to the model the builder produces, and a fresh
//   encode of that model is the file byte for byte (the encoder is still
//   compatible with what it wrote before);
// - every truncation of the file (and every 8-byte prefix of its memory),
//   and every single-bit flip in the root FDT, the LUO FDT, the FLB header
//   and every tracker page, is either accepted or
//   rejected with a reason: never a crash (run under --config=asan), never an
//   internal error, never more work than the linear budget
//   (validation.md, "Oracles for fuzzing").
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "lib/handoff.h"
#include "lib/model_text.h"
#include "tests/golden_kho_model.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

struct Golden {
  const char* path;
  KhoVersion version;
};

std::vector<uint8_t> ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

Options DecodeOptions() {
  Options o;
  o.require_iommu = false;  // the golden handoffs carry opaque FLBs only
  return o;
}

// What a decode was of, formatted only when an oracle fails.
struct Case {
  const char* kind;
  uint64_t a, b;
};
std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.kind << " " << c.a << " " << c.b;
}

// The verdict of one decode must be explainable and its cost linear; an
// accepted handoff must satisfy what "accepted means safe" promises of the
// folios. Returns true if accepted.
bool CheckOracles(const DecodeResult& r, const Case& what) {
  EXPECT_LE(r.work, r.work_budget) << what;
  if (!r.ok()) {
    const Problem* p = r.diag.first_error();
    EXPECT_NE(p, nullptr) << what << ": rejected without a kept error";
    if (p != nullptr) EXPECT_NE(p->reason, Reason::kInternal) << what << ": " << p->ToString();
    return false;
  }
  // Accepted: claimed folios are in the image, preserved folios do not
  // overlap, and the chain's own pages are claimed order-0 folios.
  const auto entries = r.memory.entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].claimed) EXPECT_TRUE(entries[i].in_image) << what << " folio " << i;
    if (i > 0) {
      const uint64_t prev_last = entries[i - 1].pa + (FolioBytes(entries[i - 1].order) - 1);
      EXPECT_GT(entries[i].pa, prev_last) << what << ": overlapping folios accepted";
    }
  }
  for (uint64_t pa :
       {r.handoff.kho.root_fdt_pa, r.handoff.luo.fdt_pa, r.handoff.luo.flb_header_pa}) {
    const PreservedMemory::Entry* e = r.memory.Find(pa);
    EXPECT_TRUE(e != nullptr && e->claimed && e->order == 0 && e->in_image)
        << what << ": page at " << pa << " accepted without its claim";
  }
  return true;
}

class GoldenKhoTest : public ::testing::TestWithParam<Golden> {
 protected:
  void SetUp() override {
    file_ = ReadFile(GetParam().path);
    ASSERT_FALSE(file_.empty());
    absl::StatusOr<HandoffModel> model = ::khoabi::testing::GoldenKhoModel(GetParam().version);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
  }

  std::vector<uint8_t> file_;
  HandoffModel model_;
};

TEST_P(GoldenKhoTest, DecodesCleanlyToTheBuilderModel) {
  Diagnostics elf_diag(Options{});
  LoadedImage loaded = ReadElfImage(absl::MakeConstSpan(file_), Options{}, {}, &elf_diag);
  ASSERT_TRUE(elf_diag.ok()) << Problems(elf_diag);
  EXPECT_TRUE(elf_diag.problems().empty()) << Problems(elf_diag);
  ASSERT_TRUE(loaded.has_root);

  Decoder decoder(DecodeOptions());
  const DecodeResult& r = decoder.Decode(loaded.view);
  ASSERT_TRUE(r.ok()) << Problems(r.diag);
  EXPECT_EQ(r.handoff, model_);
  EXPECT_EQ(r.handoff.kho.version, GetParam().version);
  CheckOracles(r, {"golden", 0, 0});

  // Only warnings: the opaque FLBs' data folios, which nothing restores.
  std::vector<uint64_t> unclaimed;
  for (const Problem& p : r.diag.problems()) {
    EXPECT_EQ(p.reason, Reason::kUnclaimedFolio) << p.ToString();
    unclaimed.push_back(p.pa);
  }
  ASSERT_EQ(model_.luo.flbs.size(), 2u);
  EXPECT_EQ(unclaimed, (std::vector<uint64_t>{model_.luo.flbs[0].data, model_.luo.flbs[1].data}));
}

TEST_P(GoldenKhoTest, FreshEncodeIsTheFileByteForByte) {
  absl::StatusOr<Image> image = EncodeHandoff(model_);
  ASSERT_TRUE(image.ok()) << image.status();
  const std::string fresh = WriteElfImage(*image);
  const std::string golden(file_.begin(), file_.end());
  if (fresh != golden) {
    size_t at = 0;
    while (at < fresh.size() && at < golden.size() && fresh[at] == golden[at]) ++at;
    FAIL() << "the encoder no longer reproduces " << GetParam().path << ": first difference at "
           << "file offset " << at << " (sizes " << fresh.size() << " vs " << golden.size()
           << "). The golden files are never regenerated: a different output for the same model "
              "is an incompatible change of the handoff format or of its placement.";
  }
}

// A buffer that holds one input at its very end, so that reading one byte
// past the input is a heap overflow ASan reports, without allocating per
// input.
class TailBuffer {
 public:
  explicit TailBuffer(size_t capacity) : bytes_(capacity) {}
  absl::Span<const uint8_t> Place(absl::Span<const uint8_t> input) {
    uint8_t* at = bytes_.data() + (bytes_.size() - input.size());
    if (!input.empty()) std::memcpy(at, input.data(), input.size());
    return absl::MakeConstSpan(at, input.size());
  }

 private:
  std::vector<uint8_t> bytes_;
};

TEST_P(GoldenKhoTest, EveryTruncationOfTheFileIsAcceptedOrRejectedWithAReason) {
  Options options = DecodeOptions();
  options.stop_at_first_error = true;
  Decoder decoder(options);
  Diagnostics elf_diag;
  TailBuffer buffer(file_.size());
  size_t accepted = 0;
  for (size_t n = 0; n <= file_.size(); ++n) {
    absl::Span<const uint8_t> cut = buffer.Place(absl::MakeConstSpan(file_).first(n));
    elf_diag.Reset(options);
    LoadedImage loaded = ReadElfImage(cut, options, {}, &elf_diag);
    if (!elf_diag.ok()) {
      ASSERT_NE(elf_diag.first_error(), nullptr) << n;
      ASSERT_NE(elf_diag.first_error()->reason, Reason::kInternal) << n;
      continue;
    }
    if (CheckOracles(decoder.Decode(loaded.view), {"file truncated to", n, 0})) ++accepted;
  }
  // The golden memory is one PT_LOAD that fills the file to its end: only
  // the whole file keeps every byte.
  EXPECT_EQ(accepted, 1u);
}

// The file's memory cut short while the ELF stays well-formed: every 8-byte
// prefix of the image's memory (pages partly or wholly missing).
TEST_P(GoldenKhoTest, EveryTruncationOfTheMemoryIsAcceptedOrRejectedWithAReason) {
  Options options = DecodeOptions();
  options.stop_at_first_error = true;
  Decoder decoder(options);
  Diagnostics elf_diag(options);
  LoadedImage loaded = ReadElfImage(absl::MakeConstSpan(file_), options, {}, &elf_diag);
  ASSERT_TRUE(elf_diag.ok()) << Problems(elf_diag);
  ASSERT_EQ(loaded.view.segments.size(), 1u);
  const absl::Span<const uint8_t> memory = loaded.view.segments[0].bytes;
  TailBuffer buffer(memory.size());
  ImageView view = loaded.view;
  size_t accepted = 0, rejected = 0;
  for (size_t n = 0; n <= memory.size(); n += 8) {
    view.segments[0].bytes = buffer.Place(memory.first(n));
    const DecodeResult& r = decoder.Decode(view);
    (CheckOracles(r, {"memory truncated to", n, 0}) ? accepted : rejected)++;
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GE(accepted, 1u);
  EXPECT_GT(rejected, memory.size() / 8 / 2);
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenKhoTest,
                         ::testing::Values(Golden{::khoabi::testing::kGoldenKhoV1, KhoVersion::kV1},
                                           Golden{::khoabi::testing::kGoldenKhoV2,
                                                  KhoVersion::kV2}),
                         [](const ::testing::TestParamInfo<Golden>& info) {
                           return info.param.version == KhoVersion::kV1 ? "kho_v1" : "kho_v2";
                         });

// --- Bit flips ------------------------------------------------------------------

// The pages whose every bit is flipped: the chain's FDTs and header, and
// every tracker page.
std::vector<uint64_t> FlippedPages(const HandoffModel& m) {
  std::vector<uint64_t> pages = {m.kho.root_fdt_pa, m.luo.fdt_pa, m.luo.flb_header_pa};
  for (const RadixPage& p : m.kho.tracker.radix_pages) pages.push_back(p.pa);
  for (const TrackerChunk& c : m.kho.tracker.chunks) {
    pages.push_back(c.pa);
    for (const TrackerChunk::Entry& e : c.entries) pages.push_back(e.bitmap_pa);
  }
  return pages;
}

// The flips of one golden file, in two parts (alternate pages) so that the
// test's shards share the work.
struct FlipPart {
  Golden golden;
  size_t part;
};
constexpr size_t kFlipParts = 2;

class GoldenBitFlipTest : public ::testing::TestWithParam<FlipPart> {};

TEST_P(GoldenBitFlipTest, EveryBitFlipInTheChainIsAcceptedOrRejectedWithAReason) {
  const Golden& golden = GetParam().golden;
  std::vector<uint8_t> file = ReadFile(golden.path);  // flipped in place, exactly sized
  ASSERT_FALSE(file.empty());
  absl::StatusOr<HandoffModel> model = ::khoabi::testing::GoldenKhoModel(golden.version);
  ASSERT_TRUE(model.ok()) << model.status();

  Options options = DecodeOptions();
  options.stop_at_first_error = true;
  Decoder decoder(options);
  Diagnostics elf_diag(options);
  // The flips never touch the ELF headers, so the file reads to the same
  // view every time; the view refers to `file`, so it sees each flip.
  LoadedImage loaded = ReadElfImage(absl::MakeConstSpan(file), options, {}, &elf_diag);
  ASSERT_TRUE(elf_diag.ok()) << Problems(elf_diag);
  ASSERT_TRUE(loaded.owned.empty());
  const std::vector<uint64_t> pages = FlippedPages(*model);
  EXPECT_EQ(pages.size(), golden.version == KhoVersion::kV1 ? 5u : 9u);

  size_t accepted = 0, rejected = 0;
  // kho-v2's parts start one page later, so both shards get 7 of 14 pages.
  const size_t first = (GetParam().part + (golden.version == KhoVersion::kV2)) % kFlipParts;
  for (size_t p = first; p < pages.size(); p += kFlipParts) {
    ImageReader reader(loaded.view);
    absl::Span<const uint8_t> page = reader.Bytes(pages[p], kPageSize);
    ASSERT_EQ(page.size(), kPageSize) << pages[p];
    uint8_t* bytes = file.data() + (page.data() - file.data());
    for (size_t bit = 0; bit < kPageSize * 8; ++bit) {
      const uint8_t mask = static_cast<uint8_t>(1u << (bit % 8));
      bytes[bit / 8] ^= mask;
      (CheckOracles(decoder.Decode(loaded.view), {"page/bit", pages[p], bit}) ? accepted
                                                                              : rejected)++;
      bytes[bit / 8] ^= mask;
      if (::testing::Test::HasFailure()) return;  // one broken oracle says enough
    }
  }
  // Both verdicts occur: flips in FDT padding or in unused tracker entries
  // change nothing that is read, flips in live fields do.
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(rejected, 0u);
  // The last flip was undone: the file decodes as before.
  EXPECT_TRUE(decoder.Decode(loaded.view).ok());
}

std::vector<FlipPart> FlipParts() {
  std::vector<FlipPart> out;
  for (const Golden& g : {Golden{::khoabi::testing::kGoldenKhoV1, KhoVersion::kV1},
                          Golden{::khoabi::testing::kGoldenKhoV2, KhoVersion::kV2}}) {
    for (size_t part = 0; part < kFlipParts; ++part) out.push_back({g, part});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenBitFlipTest, ::testing::ValuesIn(FlipParts()),
                         [](const ::testing::TestParamInfo<FlipPart>& info) {
                           return std::string(info.param.golden.version == KhoVersion::kV1
                                                  ? "kho_v1_part"
                                                  : "kho_v2_part") +
                                  std::to_string(info.param.part);
                         });

}  // namespace
}  // namespace khoabi
