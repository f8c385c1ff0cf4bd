// One corruption per class of spec/validation.md (lib/corrupt.h), applied to
// valid handoffs of both ABIs and both tracker formats: the decoder must
// report the class's reason at the class's path.
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "lib/corrupt.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "tests/corruption_bases.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

using ::khoabi::testing::CorruptionBase;
using ::khoabi::testing::CorruptionBases;

Options OptionsFor(const CorruptionClass& c) {
  Options o;
  o.pasid_policy = c.policy;
  o.max_problems = 4096;
  return o;
}

const DecodeResult& DecodeFile(const std::string& file, Decoder& decoder, Diagnostics* elf_diag,
                               LoadedImage* loaded) {
  *loaded =
      ReadElfImage(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(file.data()), file.size()),
                   decoder.options(), {}, elf_diag);
  return decoder.Decode(loaded->view);
}

TEST(CorruptionTest, BasesAreValid) {
  ASSERT_EQ(CorruptionBases().size(), 4u);
  for (const CorruptionBase& b : CorruptionBases()) {
    absl::StatusOr<Image> image = EncodeHandoff(b.model);
    ASSERT_TRUE(image.ok()) << image.status();
    for (PasidPolicy p : {PasidPolicy::kAbiDefault, PasidPolicy::kNoPasidOnly}) {
      Options o;
      o.pasid_policy = p;
      Decoder d(o);
      const DecodeResult& r = d.Decode(image->View());
      EXPECT_TRUE(r.ok()) << b.name << "\n" << Problems(r.diag);
    }
  }
}

class CorruptionClassTest : public ::testing::TestWithParam<CorruptionClass> {};

TEST_P(CorruptionClassTest, ReportsItsReasonAtItsPath) {
  const CorruptionClass& c = GetParam();
  const ReasonInfo& info = GetReasonInfo(c.expected);
  int applied = 0;
  for (const CorruptionBase& b : CorruptionBases()) {
    SCOPED_TRACE(b.name);
    absl::StatusOr<std::string> file = ApplyCorruption(c, b.model);
    if (absl::IsFailedPrecondition(file.status())) continue;  // not applicable here
    ASSERT_TRUE(file.ok()) << file.status();
    ++applied;
    Options o = OptionsFor(c);
    Decoder decoder(o);
    Diagnostics elf_diag(o);
    LoadedImage loaded;
    const DecodeResult& r = DecodeFile(*file, decoder, &elf_diag, &loaded);
    std::vector<const Problem*> all;
    for (const Problem& p : elf_diag.problems()) all.push_back(&p);
    if (elf_diag.ok()) {
      for (const Problem& p : r.diag.problems()) all.push_back(&p);
    }
    const Problem* found = nullptr;
    for (const Problem* p : all) {
      if (p->reason == c.expected && absl::StartsWith(p->path, c.path)) found = p;
    }
    std::string seen;
    for (const Problem* p : all) seen += p->ToString() + "\n";
    ASSERT_NE(found, nullptr) << "expected " << info.name << " at " << c.path << ", got:\n" << seen;
    if (info.severity == Severity::kWarning) {
      EXPECT_FALSE(found->is_error());
    } else {
      EXPECT_TRUE(found->is_error());
      EXPECT_FALSE(elf_diag.ok() && r.ok()) << "accepted:\n" << seen;
    }
  }
  EXPECT_GT(applied, 0) << c.name << " applies to none of the bases";
}

INSTANTIATE_TEST_SUITE_P(Classes, CorruptionClassTest, ::testing::ValuesIn(CorruptionClasses()),
                         [](const ::testing::TestParamInfo<CorruptionClass>& i) {
                           return std::string(i.param.name);
                         });

// Every reason about the data itself has a corruption class that produces it.
TEST(CorruptionTest, EveryDataReasonHasAClass) {
  std::set<Reason> covered;
  for (const CorruptionClass& c : CorruptionClasses()) covered.insert(c.expected);
  for (const ReasonInfo& info : AllReasons()) {
    const std::string name = info.name;
    if (absl::StartsWith(name, "limit_") || info.reason == Reason::kInternal ||
        info.reason == Reason::kInvalidArgument || info.reason == Reason::kIommuAbiNotAccepted ||
        info.reason == Reason::kFolioOutsideImage || info.reason == Reason::kUnclaimedFolio) {
      continue;  // options, bugs, and warnings the classes cause as side effects
    }
    EXPECT_TRUE(covered.count(info.reason)) << name << " has no corruption class";
  }
}

TEST(CorruptionTest, NamesAreUnique) {
  std::set<std::string> names;
  for (const CorruptionClass& c : CorruptionClasses()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_EQ(FindCorruption(c.name), &c);
  }
}

}  // namespace
}  // namespace khoabi
