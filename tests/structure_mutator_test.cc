// The structure-aware mutator: deterministic for a seed, within max_size,
// and producing inputs that get far and fail in many different ways.
#include "lib/structure_mutator.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "lib/fuzz_corpus.h"
#include "lib/fuzz_support.h"

namespace khoabi::fuzz {
namespace {

// A fallback that is deterministic per mutator.
ByteMutator CountingFallback() {
  auto calls = std::make_shared<uint64_t>(0);
  return
      [calls](uint8_t* d, size_t n, size_t max) { return MutateBytes(d, n, max, 1000 + ++*calls); };
}

std::string Mutate(StructureMutator& m, const std::string& input, size_t max_size, uint64_t seed) {
  std::string buf = input;
  buf.resize(std::max(max_size, input.size()));
  const size_t n = m.Mutate(reinterpret_cast<uint8_t*>(buf.data()), input.size(), max_size, seed);
  EXPECT_LE(n, max_size);
  buf.resize(n);
  return buf;
}

// The first valid seed of a target (its label names no corruption).
std::string ValidSeed(Target t) {
  for (const Seed& s : SeedsFor(t)) {
    if (s.label.find("corrupt") == std::string::npos && !s.bytes.empty()) return s.bytes;
  }
  ADD_FAILURE() << "no valid seed";
  return "";
}

// What the decoder says about an input of `t`: the reasons of its problems.
struct Verdict {
  bool parsed = false;
  bool accepted = false;
  std::set<Reason> reasons;
};

Verdict Judge(Target t, const std::string& input) {
  Verdict v;
  const auto bytes =
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  if (GetTargetInfo(t).format == InputFormat::kElf) {
    const Options o = OptionsFromBytes(ElfOptionBytes(bytes));
    Diagnostics diag(o);
    LoadedImage loaded = ReadElfImage(bytes, o, {}, &diag);
    for (const Problem& p : diag.problems()) v.reasons.insert(p.reason);
    if (!diag.ok()) return v;
    v.parsed = true;
    Decoder d(o);
    const DecodeResult& r = d.Decode(loaded.view);
    v.accepted = r.ok();
    for (const Problem& p : r.diag.problems()) v.reasons.insert(p.reason);
    return v;
  }
  const Layer layer = *LayerOf(t);
  const LayerInput in = ParseLayerInput(bytes, layer);
  LayerImage image(LayerBases()[in.base]);
  image.Apply(layer, in);
  Options o = OptionsFromBytes(in.options);
  Decoder d(o);
  const DecodeResult& r = d.Decode(image.view());
  v.parsed = true;
  v.accepted = r.ok();
  for (const Problem& p : r.diag.problems()) v.reasons.insert(p.reason);
  return v;
}

class StructureMutatorTest : public ::testing::TestWithParam<Target> {};

TEST_P(StructureMutatorTest, SameSeedSameOutput) {
  const Target t = GetParam();
  const std::string seed_input = ValidSeed(t);
  StructureMutator a(t, CountingFallback(), 100), b(t, CountingFallback(), 100);
  int differing = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const std::string x = Mutate(a, seed_input, 1 << 20, seed);
    const std::string y = Mutate(b, seed_input, 1 << 20, seed);
    ASSERT_EQ(x, y) << "seed " << seed << ": " << a.stats().last;
    if (x != seed_input) ++differing;
  }
  EXPECT_GE(differing, 30) << "most mutations change the input";
}

TEST_P(StructureMutatorTest, StaysWithinMaxSize) {
  const Target t = GetParam();
  const std::string seed_input = ValidSeed(t);
  StructureMutator m(t, CountingFallback(), 100);
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const size_t max = seed % 2 ? seed_input.size() : seed_input.size() / 2 + 1;
    Mutate(m, seed_input, max, seed);  // Mutate checks the bound
  }
}

// Structural mutations of a valid input: varied, mostly still parsed, and
// reaching many different reasons (a byte mutator mostly reaches one or
// two: the first check that a random flip breaks).
TEST_P(StructureMutatorTest, ProducesDecodableVariety) {
  const Target t = GetParam();
  const std::string seed_input = ValidSeed(t);
  StructureMutator m(t, CountingFallback(), 100);
  std::set<std::string> mutations;
  std::set<Reason> reasons;
  int parsed = 0, accepted = 0;
  const int kRuns = 300;
  for (int i = 0; i < kRuns; ++i) {
    const std::string out = Mutate(m, seed_input, 1 << 20, static_cast<uint64_t>(i) * 7919 + 1);
    mutations.insert(m.stats().last);
    const Verdict v = Judge(t, out);
    parsed += v.parsed;
    accepted += v.accepted;
    reasons.insert(v.reasons.begin(), v.reasons.end());
  }
  std::string seen;
  for (Reason r : reasons) seen += std::string(ReasonName(r)) + " ";
  std::string kinds;
  for (const std::string& k : mutations) kinds += k + " ";
  // The tracker's seed is a kho-v2 tracker: radix links and bits only.
  const bool narrow = t == Target::kElfReader || t == Target::kTracker;
  EXPECT_GE(mutations.size(), narrow ? 8u : 15u) << kinds;
  // ELF-level mutations break the file on purpose.
  EXPECT_GE(parsed, t == Target::kElfReader ? kRuns / 2 : kRuns * 8 / 10);
  EXPECT_GE(accepted, 1) << "some mutations keep the handoff valid";
  EXPECT_LE(accepted, kRuns * 9 / 10) << "most mutations break something";
  EXPECT_GE(reasons.size(), t == Target::kElfReader ? 4u : narrow ? 8u : 12u) << seen;
}

TEST_P(StructureMutatorTest, CrossOverIsDeterministicAndBounded) {
  const Target t = GetParam();
  std::vector<std::string> seeds;
  for (const Seed& s : SeedsFor(t)) {
    if (!s.bytes.empty()) seeds.push_back(s.bytes);
    if (seeds.size() == 6) break;
  }
  ASSERT_GE(seeds.size(), 2u);
  StructureMutator a(t, CountingFallback(), 100), b(t, CountingFallback(), 100);
  std::set<std::string> kinds;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const std::string& x = seeds[seed % seeds.size()];
    const std::string& y = seeds[(seed + 1) % seeds.size()];
    const size_t max = std::max(x.size(), y.size());
    std::string out1(max, '\0'), out2(max, '\0');
    auto cross = [&](StructureMutator& m, std::string& out) {
      const size_t n = m.CrossOver(reinterpret_cast<const uint8_t*>(x.data()), x.size(),
                                   reinterpret_cast<const uint8_t*>(y.data()), y.size(),
                                   reinterpret_cast<uint8_t*>(out.data()), max, seed);
      EXPECT_LE(n, max);
      out.resize(n);
    };
    cross(a, out1);
    cross(b, out2);
    ASSERT_EQ(out1, out2) << "seed " << seed;
    kinds.insert(a.stats().last);
  }
  EXPECT_GE(kinds.size(), 2u) << "structural and splice crossovers both happen";
}

INSTANTIATE_TEST_SUITE_P(Targets, StructureMutatorTest,
                         ::testing::Values(Target::kHandoff, Target::kElfReader, Target::kTracker,
                                           Target::kFdt, Target::kIommu, Target::kPasid),
                         [](const ::testing::TestParamInfo<Target>& i) {
                           return std::string(GetTargetInfo(i.param).name);
                         });

TEST(StructureMutatorTest, UnparseableInputsGoToTheFallback) {
  StructureMutator m(Target::kHandoff, CountingFallback(), 100);
  const std::string garbage = "not an ELF file at all";
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Mutate(m, garbage, 64, seed);
    EXPECT_EQ(m.stats().last, "bytes");
  }
}

TEST(StructureMutatorTest, ZeroPercentIsTheFallbackAlone) {
  StructureMutator m(Target::kHandoff, CountingFallback(), 0);
  const std::string input = ValidSeed(Target::kHandoff);
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Mutate(m, input, 1 << 20, seed);
    EXPECT_EQ(m.stats().last, "bytes");
  }
}

TEST(MutateBytesTest, DeterministicAndBounded) {
  std::string a(100, 'x'), b(100, 'x');
  for (uint64_t seed = 1; seed < 200; ++seed) {
    a.resize(128);
    b.resize(128);
    const size_t na = MutateBytes(reinterpret_cast<uint8_t*>(a.data()), 100, 128, seed);
    const size_t nb = MutateBytes(reinterpret_cast<uint8_t*>(b.data()), 100, 128, seed);
    ASSERT_EQ(na, nb);
    ASSERT_LE(na, 128u);
    a.resize(na);
    b.resize(nb);
    ASSERT_EQ(a, b);
    a.assign(100, 'x');
    b.assign(100, 'x');
  }
}

}  // namespace
}  // namespace khoabi::fuzz
