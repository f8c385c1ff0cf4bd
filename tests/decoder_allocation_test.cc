// Decoder allocations: a warmed-up Decoder rejects, and accepts, without
// touching the heap (lib/decoder.h; style: the hot path does not allocate to
// reject).
//
// What is counted (tests/alloc_hook.h): every call of a global operator new,
// any form, made on this thread while Decoder::Decode runs. That is how
// everything in //lib allocates: std::vector, std::string, std::function,
// absl::Status and absl::Cord payloads. Direct malloc calls are not seen;
// //lib makes none, and neither do libfdt or the printf family for the
// formats the library uses.
//
// "Warmed up": the Decoder has decoded the very same image once before, so
// its storage has grown to what the image needs. A Decoder fed a larger
// image may still have to grow; that is an allocation per new high-water
// mark, never one per problem or per record.
//
// Every corruption class of lib/corrupt.h is applied to the bases of
// corruption_test (both ABIs, both tracker formats). Files that ReadElfImage
// rejects never reach the Decoder (the reader builds the LoadedImage it
// returns, its segment list, by design, before any decode); those classes
// are skipped.
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/corrupt.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "tests/alloc_hook.h"
#include "tests/corruption_bases.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::HeapCounter;
using ::khoabi::testing::HeapStats;
using ::khoabi::testing::Problems;

using ::khoabi::testing::CorruptionBase;
using ::khoabi::testing::CorruptionBases;

// The allocations of a Decode of `view` by a Decoder warmed up on it.
HeapStats CountDecode(Decoder& decoder, const ImageView& view, const DecodeResult** result) {
  decoder.Decode(view);  // warm up
  HeapCounter counter;
  *result = &decoder.Decode(view);
  return counter.Stop();
}

TEST(DecoderAllocationTest, TheHookCountsAllocations) {
  static std::vector<int>* volatile escaped;  // no new/delete elision
  HeapCounter counter;
  escaped = new std::vector<int>(100);
  delete escaped;
  const HeapStats s = counter.Stop();
  EXPECT_EQ(s.allocations, 2u);
  EXPECT_GE(s.peak_extra_bytes, 400u);
}

TEST(DecoderAllocationTest, ColdDecodeAllocatesWarmDoesNot) {
  for (const CorruptionBase& b : CorruptionBases()) {
    SCOPED_TRACE(b.name);
    absl::StatusOr<Image> image = EncodeHandoff(b.model);
    ASSERT_TRUE(image.ok()) << image.status();
    const ImageView view = image->View();
    Decoder decoder;
    HeapCounter cold;
    EXPECT_TRUE(decoder.Decode(view).ok());
    EXPECT_GT(cold.Stop().allocations, 0u) << "the hook must see the result being built";
    const DecodeResult* r = nullptr;
    EXPECT_EQ(CountDecode(decoder, view, &r).allocations, 0u);
    EXPECT_TRUE(r->ok()) << Problems(r->diag);
  }
}

// A decode cut short by a limit returns from the middle of a walk: whatever
// storage it took must stay where the next decode finds it.
TEST(DecoderAllocationTest, LimitsHitWarmDoNotAllocate) {
  struct Limit {
    const char* name;
    void (*set)(Options&);
    Reason reason;
  };
  const Limit limits[] = {
      {"max_folios", [](Options& o) { o.max_folios = 5; }, Reason::kLimitFolios},
      {"max_tracker_pages", [](Options& o) { o.max_tracker_pages = 3; },
       Reason::kLimitTrackerPages},
      {"max_work", [](Options& o) { o.max_work = 3000; }, Reason::kLimitWork},
      {"max_objects", [](Options& o) { o.max_objects = 3; }, Reason::kLimitObjects},
      {"max_chain_pages", [](Options& o) { o.max_chain_pages = 1; }, Reason::kLimitChainLength},
      {"max_pasid_tables", [](Options& o) { o.max_pasid_tables = 1; }, Reason::kLimitPasidTables},
  };
  for (const CorruptionBase& b : CorruptionBases()) {
    absl::StatusOr<Image> image = EncodeHandoff(b.model);
    ASSERT_TRUE(image.ok()) << image.status();
    const ImageView view = image->View();
    for (const Limit& l : limits) {
      for (bool stop : {false, true}) {
        SCOPED_TRACE(absl::StrCat(b.name, " ", l.name, stop ? " stop_at_first_error" : ""));
        Options options;
        l.set(options);
        options.stop_at_first_error = stop;
        Decoder decoder(options);
        const DecodeResult* r = nullptr;
        const HeapStats stats = CountDecode(decoder, view, &r);
        EXPECT_TRUE(r->diag.Has(l.reason)) << Problems(r->diag);
        EXPECT_EQ(stats.allocations, 0u) << stats.bytes << " bytes\n" << Problems(r->diag);
      }
    }
  }
}

struct ClassAndMode {
  CorruptionClass c;
  bool stop_at_first_error;
};

void PrintTo(const ClassAndMode& p, std::ostream* os) {
  *os << p.c.name << (p.stop_at_first_error ? ", stop at first error" : "");
}

class RejectionAllocationTest : public ::testing::TestWithParam<ClassAndMode> {};

std::vector<ClassAndMode> ClassesAndModes() {
  std::vector<ClassAndMode> out;
  for (const CorruptionClass& c : CorruptionClasses()) {
    out.push_back({c, false});
    out.push_back({c, true});
  }
  return out;
}

TEST_P(RejectionAllocationTest, WarmDecoderDoesNotAllocate) {
  const CorruptionClass& c = GetParam().c;
  int applied = 0, elf_rejected = 0;
  for (const CorruptionBase& b : CorruptionBases()) {
    SCOPED_TRACE(b.name);
    absl::StatusOr<std::string> file = ApplyCorruption(c, b.model);
    if (absl::IsFailedPrecondition(file.status())) continue;  // not applicable here
    ASSERT_TRUE(file.ok()) << file.status();
    Options options;
    options.pasid_policy = c.policy;
    options.stop_at_first_error = GetParam().stop_at_first_error;
    Diagnostics elf_diag(options);
    const LoadedImage loaded = ReadElfImage(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(file->data()), file->size()), options,
        {}, &elf_diag);
    if (!elf_diag.ok()) {  // a broken file: rejected before any decode
      ++elf_rejected;
      continue;
    }
    ++applied;
    Decoder decoder(options);
    const DecodeResult* r = nullptr;
    const HeapStats stats = CountDecode(decoder, loaded.view, &r);
    // On the path that reports the class's reason, not some other (stopping
    // at the first error may end before it).
    if (!GetParam().stop_at_first_error) EXPECT_TRUE(r->diag.Has(c.expected)) << Problems(r->diag);
    EXPECT_EQ(stats.allocations, 0u) << stats.bytes << " bytes\n" << Problems(r->diag);
  }
  if (applied == 0 && elf_rejected > 0) GTEST_SKIP() << "rejected by ReadElfImage, not the Decoder";
  EXPECT_GT(applied, 0) << c.name << " applies to none of the bases";
}

INSTANTIATE_TEST_SUITE_P(Classes, RejectionAllocationTest, ::testing::ValuesIn(ClassesAndModes()),
                         [](const ::testing::TestParamInfo<ClassAndMode>& i) {
                           return absl::StrCat(i.param.c.name,
                                               i.param.stop_at_first_error ? "_stop" : "");
                         });

}  // namespace
}  // namespace khoabi
