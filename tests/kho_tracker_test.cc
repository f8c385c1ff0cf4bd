// The preserved-memory tracker (spec/handoff.md): the kho-v2 radix tree and
// the kho-v1 bitmap chunks, planned, encoded and decoded directly; then every
// class of corrupt tracker from validation.md, built by editing encoded
// pages. Each corruption asserts the reason and the record path of the first
// error: the path names the record that holds the bad value (the table entry
// pointing at a bad page, the chunk field, the bitmap bit).
#include "lib/kho_tracker.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "abi/kexec_handover.h"
#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/handoff_builder.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

constexpr uint64_t kTopPage = 0xfffffffffffff000;
constexpr uint64_t kTrackerBase = 0x7f0000000000;  // away from every folio below
constexpr uint64_t kOutside = 0x5000;              // never in a tracker image

// --- Encoding and decoding ---------------------------------------------------

struct Encoded {
  TrackerModel model;
  Image image;  // tracker pages only
};

Encoded Encode(KhoVersion format, std::vector<Folio> folios) {
  PageAllocator::Config c;
  c.base = kTrackerBase;
  PageAllocator allocator(c);
  absl::StatusOr<TrackerModel> model = PlanTracker(format, std::move(folios), allocator);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  ImageBuilder builder;
  const absl::Status s = EncodeTracker(*model, builder);
  EXPECT_TRUE(s.ok()) << s;
  return {*std::move(model), std::move(builder).Build(0)};
}

struct Decoded {
  Diagnostics diag;
  PreservedMemory memory;
  TrackerModel model;
  WorkMeter work;
  Path path;
  bool ok = false;
  bool finalized_ok = false;
};

// DecodeTracker as the decoder runs it (the work budget of Options), then
// PreservedMemory::Finalize, which finds overlaps.
std::unique_ptr<Decoded> Decode(KhoVersion format, uint64_t root, const Image& image,
                                const Options& options = {}) {
  auto d = std::make_unique<Decoded>();
  d->diag.Reset(options);
  d->work.Reset(options.max_work != 0 ? options.max_work : WorkBudget(image.total_bytes()));
  const ImageView view = image.View();
  ImageReader reader(view);
  DecodeContext ctx{reader, options, d->path, d->diag, d->work, d->memory};
  d->ok = DecodeTracker(format, root, ctx, &d->model);
  EXPECT_EQ(d->path.depth(), 0) << "scopes must unwind";
  if (d->ok) d->finalized_ok = d->memory.Finalize(reader, d->path, d->diag);
  return d;
}

std::unique_ptr<Decoded> Decode(const Encoded& e, const Options& options = {}) {
  return Decode(e.model.format, e.model.root_pa(), e.image, options);
}

void ExpectFirstError(const Decoded& d, Reason reason, const std::string& path, uint64_t pa) {
  ASSERT_NE(d.diag.first_error(), nullptr) << "no error; problems:\n" << Problems(d.diag);
  const Problem& p = *d.diag.first_error();
  EXPECT_EQ(p.reason, reason) << Problems(d.diag);
  EXPECT_EQ(std::string(p.path), path) << Problems(d.diag);
  EXPECT_EQ(p.pa, pa) << std::hex << p.pa << " vs " << pa << "\n" << Problems(d.diag);
  EXPECT_FALSE(d.ok && d.finalized_ok);
  // Bounded work, whatever the corruption.
  EXPECT_LE(d.work.used(), d.work.budget());
}

void PokeU64(Image& image, uint64_t pa, uint64_t value) {
  absl::Span<uint8_t> bytes = image.Mutable(pa, 8);
  ASSERT_EQ(bytes.size(), 8u) << std::hex << pa;
  std::memcpy(bytes.data(), &value, 8);
}

uint64_t PeekU64(Image& image, uint64_t pa) {
  absl::Span<uint8_t> bytes = image.Mutable(pa, 8);
  uint64_t v = 0;
  if (bytes.size() == 8) std::memcpy(&v, bytes.data(), 8);
  return v;
}

void SetBit(Image& image, uint64_t bitmap_pa, unsigned bit) {
  absl::Span<uint8_t> bytes = image.Mutable(bitmap_pa + bit / 8, 1);
  ASSERT_EQ(bytes.size(), 1u);
  bytes[0] = static_cast<uint8_t>(bytes[0] | (1u << (bit % 8)));
}

std::string Dec(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
  return buf;
}

// --- kho-v2 helpers --------------------------------------------------------

// The prefix of the level-`level` page on `key`'s path (leaves: level 0).
uint64_t Prefix(uint64_t key, unsigned level) { return key >> (15 + 9 * level); }

const RadixPage& Page(const TrackerModel& m, unsigned level, uint64_t key) {
  for (const RadixPage& p : m.radix_pages) {
    if (p.level == level && p.prefix == Prefix(key, level)) return p;
  }
  static const RadixPage none;
  ADD_FAILURE() << "no level-" << level << " page for key " << key;
  return none;
}

// PA of the entry of the level-`level` table (1..5) on `key`'s path.
uint64_t EntryPa(const TrackerModel& m, unsigned level, uint64_t key) {
  return Page(m, level, key).pa + 8 * kho_radix_level_index(key, level);
}

std::string EntryPath(unsigned level, uint64_t key) {
  return "tracker.radix.level[" + Dec(level) + "].table[" + Dec(Prefix(key, level)) + "].entry[" +
         Dec(kho_radix_level_index(key, level)) + "]";
}

// --- kho-v1 helpers --------------------------------------------------------

uint64_t ChunkNextPa(const TrackerChunk& c) { return c.pa; }
uint64_t ChunkOrderPa(const TrackerChunk& c) { return c.pa + 8; }
uint64_t ChunkNumElmsPa(const TrackerChunk& c) { return c.pa + 12; }
uint64_t EntryPhysStartPa(const TrackerChunk& c, size_t j) { return c.pa + 16 + 16 * j; }
uint64_t EntryBitmapPa(const TrackerChunk& c, size_t j) { return c.pa + 16 + 16 * j + 8; }

std::string ChunkPath(size_t i) { return "tracker.chunks.chunk[" + Dec(i) + "]"; }

// ===========================================================================
// Round trips
// ===========================================================================

std::vector<Folio> ManyOrders() {
  std::vector<Folio> folios;
  for (uint32_t order = 0; order <= 20; ++order) {
    // One folio of each order at a distinct, aligned place; two for some.
    const uint64_t pa = (uint64_t{order} + 1) << 36;
    folios.push_back({pa, order});
    if (order % 4 == 0) folios.push_back({pa + (FolioBytes(order) << 5), order});
  }
  folios.push_back({0, 0});
  folios.push_back({0x1000, 0});
  folios.push_back({kTopPage, 0});
  folios.push_back({0xffffffff80000000, 18});  // 1 GiB folio near the top
  folios.push_back({uint64_t{1} << 42, 30});
  folios.push_back({uint64_t{1} << 52, 40});
  return folios;
}

class RoundTripTest : public ::testing::TestWithParam<KhoVersion> {};

TEST_P(RoundTripTest, FoliosOfManyOrders) {
  Encoded e = Encode(GetParam(), ManyOrders());
  auto d = Decode(e);
  ASSERT_TRUE(d->ok && d->finalized_ok) << Problems(d->diag);
  EXPECT_EQ(d->model, e.model);
  // Folios are not part of a tracker image: all outside, nothing else.
  for (const Problem& p : d->diag.problems()) EXPECT_EQ(p.reason, Reason::kFolioOutsideImage);
  EXPECT_EQ(d->memory.size(), ManyOrders().size());
  EXPECT_EQ(d->model.page_count(), e.image.total_bytes() / kPageSize);
}

TEST_P(RoundTripTest, EmptyTracker) {
  Encoded e = Encode(GetParam(), {});
  auto d = Decode(e);
  EXPECT_TRUE(d->ok && d->finalized_ok) << Problems(d->diag);
  EXPECT_EQ(d->model, e.model);
  EXPECT_EQ(d->memory.size(), 0u);
}

// The largest folio of each order ends exactly at 2^64: valid, and (in
// kho-v2) the highest key of its order, so no kho-v2 key can encode a folio
// running past 2^64.
TEST_P(RoundTripTest, HighestFolioOfEachOrderEndsAtTwoToThe64) {
  std::vector<Folio> folios;
  for (uint32_t order : {0u, 1u, 9u, 20u, 40u}) {
    folios.push_back({0 - FolioBytes(order), order});
  }
  // Distinct encodes: these overlap each other.
  for (const Folio& f : folios) {
    SCOPED_TRACE(f.order);
    Encoded e = Encode(GetParam(), {f});
    auto d = Decode(e);
    ASSERT_TRUE(d->ok) << Problems(d->diag);
    EXPECT_EQ(d->model.folios, (std::vector<Folio>{f}));
    if (GetParam() == KhoVersion::kV2) {
      EXPECT_EQ(kho_radix_key(f.pa, f.order), (uint64_t{2} << (52 - f.order)) - 1);
    }
  }
}

// A folio of order 52 is the whole address space: FolioFits allows it, so
// the tracker code must handle it without shifting by 64 (undefined
// behaviour, caught by --config=asan's UBSan).
TEST_P(RoundTripTest, OrderFiftyTwoFolioAtZero) {
  Encoded e = Encode(GetParam(), {{0, 52}});
  auto d = Decode(e);
  ASSERT_TRUE(d->ok) << Problems(d->diag);
  EXPECT_EQ(d->model, e.model);
  EXPECT_EQ(d->model.folios, (std::vector<Folio>{{0, 52}}));
}

INSTANTIATE_TEST_SUITE_P(Formats, RoundTripTest,
                         ::testing::Values(KhoVersion::kV1, KhoVersion::kV2),
                         [](const ::testing::TestParamInfo<KhoVersion>& info) {
                           return info.param == KhoVersion::kV1 ? "kho_v1" : "kho_v2";
                         });

TEST(KhoV1, ListSpanningSeveralChunks) {
  // 300 order-0 folios 128 MiB apart: one bitmap each, 255 bitmaps a chunk.
  std::vector<Folio> folios;
  for (uint64_t i = 0; i < 300; ++i) folios.push_back({i << 27, 0});
  folios.push_back({uint64_t{1} << 36, 5});
  Encoded e = Encode(KhoVersion::kV1, folios);
  ASSERT_EQ(e.model.chunks.size(), 3u);
  EXPECT_EQ(e.model.chunks[0].entries.size(), 255u);
  EXPECT_EQ(e.model.chunks[1].entries.size(), 45u);
  EXPECT_EQ(e.model.chunks[2].order, 5u);
  auto d = Decode(e);
  ASSERT_TRUE(d->ok && d->finalized_ok) << Problems(d->diag);
  EXPECT_EQ(d->model, e.model);
  EXPECT_EQ(d->model.folios.size(), 301u);
}

TEST(KhoV1, RootZeroIsAnEmptyList) {
  Image empty;
  auto d = Decode(KhoVersion::kV1, 0, empty);
  EXPECT_TRUE(d->ok) << Problems(d->diag);
  EXPECT_TRUE(d->model.chunks.empty());
  EXPECT_EQ(d->memory.size(), 0u);
}

TEST(KhoV2, LayoutFollowsTheKeyBits) {
  const Folio f{0x123456789000, 0};
  const uint64_t key = kho_radix_key(f.pa, f.order);
  Encoded e = Encode(KhoVersion::kV2, {f});
  ASSERT_EQ(e.model.radix_pages.size(), 6u);  // root to leaf
  for (unsigned level = 5; level >= 1; --level) {
    const uint64_t child = level == 1 ? Page(e.model, 0, key).pa : Page(e.model, level - 1, key).pa;
    EXPECT_EQ(PeekU64(e.image, EntryPa(e.model, level, key)), child) << level;
  }
  const unsigned bit = kho_radix_leaf_index(key);
  absl::Span<uint8_t> leaf = e.image.Mutable(Page(e.model, 0, key).pa, kPageSize);
  ASSERT_EQ(leaf.size(), kPageSize);
  EXPECT_EQ(leaf[bit / 8], 1u << (bit % 8));
}

// ===========================================================================
// kho-v2 corruptions
// ===========================================================================

// Two folios whose keys take different root entries (orders 0 and 1).
const Folio kOrder0{0x100000000, 0};
const Folio kOrder1{0x200000000, 1};
const uint64_t kKey0 = kho_radix_key(kOrder0.pa, kOrder0.order);
const uint64_t kKey1 = kho_radix_key(kOrder1.pa, kOrder1.order);

Encoded TwoRootEntries() { return Encode(KhoVersion::kV2, {kOrder0, kOrder1}); }

TEST(KhoV2Corrupt, RootPaInvalid) {
  Encoded e = TwoRootEntries();
  const uint64_t root = e.model.root_pa();
  for (uint64_t bad : {uint64_t{0}, root + 8, root + 0xfff, uint64_t{kOutside}, kTopPage}) {
    SCOPED_TRACE(bad);
    auto d = Decode(KhoVersion::kV2, bad, e.image);
    ExpectFirstError(*d, Reason::kTrackerPaInvalid, "tracker.radix.root", bad);
  }
}

// A table entry at each level pointing at an unaligned page, or at a page
// outside the image. (An entry of 0 is "no child", not an error.)
TEST(KhoV2Corrupt, TableEntryPaInvalid) {
  for (unsigned level = 5; level >= 1; --level) {
    for (bool unaligned : {true, false}) {
      SCOPED_TRACE(level * 10 + unaligned);
      Encoded e = TwoRootEntries();
      const uint64_t entry = EntryPa(e.model, level, kKey0);
      const uint64_t bad = unaligned ? PeekU64(e.image, entry) + 0x10 : kOutside;
      PokeU64(e.image, entry, bad);
      auto d = Decode(e);
      ExpectFirstError(*d, Reason::kTrackerPaInvalid, EntryPath(level, kKey0), bad);
    }
  }
}

TEST(KhoV2Corrupt, ZeroTableEntryIsAnEmptySubtree) {
  Encoded e = TwoRootEntries();
  PokeU64(e.image, EntryPa(e.model, 3, kKey0), 0);
  auto d = Decode(e);
  ASSERT_TRUE(d->ok) << Problems(d->diag);
  EXPECT_EQ(d->model.folios, (std::vector<Folio>{kOrder1}));
}

TEST(KhoV2Corrupt, NodeSharedByTwoParents) {
  Encoded e = TwoRootEntries();
  // Root entry of the order-1 key (index 1) is walked first; make the
  // order-0 key's entry (index 2) point at the same level-4 table.
  ASSERT_LT(kho_radix_level_index(kKey1, 5), kho_radix_level_index(kKey0, 5));
  const uint64_t shared = PeekU64(e.image, EntryPa(e.model, 5, kKey1));
  PokeU64(e.image, EntryPa(e.model, 5, kKey0), shared);
  auto d = Decode(e);
  ExpectFirstError(*d, Reason::kTrackerPageReused, EntryPath(5, kKey0), shared);
}

// Every entry of a level-4 table pointing at one level-3 table: all but the
// first in key order are reported, deterministically (std::sort is not
// stable beyond a handful of elements).
TEST(KhoV2Corrupt, NodeSharedByManyParents) {
  Encoded e = TwoRootEntries();
  const RadixPage& level4 = Page(e.model, 4, kKey0);
  const uint64_t shared = Page(e.model, 3, kKey0).pa;
  for (unsigned i = 0; i < KHO_RADIX_TABLE_ENTRIES; ++i)
    PokeU64(e.image, level4.pa + 8 * i, shared);
  auto d = Decode(e);
  EXPECT_EQ(d->diag.errors(), KHO_RADIX_TABLE_ENTRIES - 1);
  ExpectFirstError(*d, Reason::kTrackerPageReused,
                   "tracker.radix.level[4].table[" + Dec(level4.prefix) + "].entry[1]", shared);
}

TEST(KhoV2Corrupt, NodeSharedAcrossLevels) {
  Encoded e = TwoRootEntries();
  // A level-2 entry pointing at a level-4 table of the other key.
  const uint64_t level4 = Page(e.model, 4, kKey1).pa;
  PokeU64(e.image, EntryPa(e.model, 2, kKey0), level4);
  auto d = Decode(e);
  ExpectFirstError(*d, Reason::kTrackerPageReused, EntryPath(2, kKey0), level4);
}

TEST(KhoV2Corrupt, ChildPointingBackAtTheRoot) {
  for (unsigned level : {5u, 3u, 1u}) {
    SCOPED_TRACE(level);
    Encoded e = TwoRootEntries();
    const uint64_t root = e.model.root_pa();
    PokeU64(e.image, EntryPa(e.model, level, kKey0), root);
    auto d = Decode(e);
    ExpectFirstError(*d, Reason::kTrackerPageReused, EntryPath(level, kKey0), root);
  }
}

TEST(KhoV2Corrupt, RootIndexFourOrMore) {
  for (unsigned index : {4u, 5u, 511u}) {
    SCOPED_TRACE(index);
    Encoded e = TwoRootEntries();
    const uint64_t some_page = Page(e.model, 4, kKey0).pa;
    PokeU64(e.image, e.model.root_pa() + 8 * index, some_page);
    auto d = Decode(e);
    ExpectFirstError(*d, Reason::kTrackerBadKey,
                     "tracker.radix.level[5].table[0].entry[" + Dec(index) + "]", some_page);
  }
}

// Key 0: the leaf of prefix 0 (all-zero path), bit 0. The order-40 folio at
// PA 0 has key 1 << 12, which lives in that leaf.
TEST(KhoV2Corrupt, KeyZero) {
  const Folio big{0, 40};
  const uint64_t key = kho_radix_key(big.pa, big.order);
  ASSERT_EQ(Prefix(key, 0), 0u);
  Encoded e = Encode(KhoVersion::kV2, {big});
  SetBit(e.image, Page(e.model, 0, key).pa, 0);
  auto d = Decode(e);
  ExpectFirstError(*d, Reason::kTrackerBadKey, "tracker.radix.leaf[0].bit[0]", kNoPa);
}

// Key 1 is order 52 at PA 0: valid, and must decode without a shift by 64.
TEST(KhoV2Corrupt, KeyOneIsTheWholeAddressSpace) {
  const Folio big{0, 40};
  const uint64_t key = kho_radix_key(big.pa, big.order);
  Encoded e = Encode(KhoVersion::kV2, {big});
  SetBit(e.image, Page(e.model, 0, key).pa, 1);
  auto d = Decode(e);
  EXPECT_TRUE(d->ok) << Problems(d->diag);
  EXPECT_EQ(d->model.folios, (std::vector<Folio>{{0, 40}, {0, 52}}));
  // ... and it overlaps the order-40 folio.
  ExpectFirstError(*d, Reason::kTrackerOverlap, "preserved.folio[1]", 0);
}

TEST(KhoV2Corrupt, Order1KeyOverOrder0Key) {
  Encoded e = Encode(KhoVersion::kV2, {{0x200000, 0}, {0x200000, 1}, {0x203000, 0}});
  auto d = Decode(e);
  ASSERT_TRUE(d->ok) << Problems(d->diag);
  ExpectFirstError(*d, Reason::kTrackerOverlap, "preserved.folio[1]", 0x200000);
}

// ===========================================================================
// kho-v1 corruptions
// ===========================================================================

// Chunk 0: order 0, entries for [0x100000000, +128 MiB) and [0x200000000, ...);
// chunk 1: order 3, one entry.
Encoded TwoChunks() {
  Encoded e = Encode(KhoVersion::kV1,
                     {{0x100000000, 0}, {0x100001000, 0}, {0x200000000, 0}, {0x300000000, 3}});
  EXPECT_EQ(e.model.chunks.size(), 2u);
  EXPECT_EQ(e.model.chunks[0].entries.size(), 2u);
  return e;
}

TEST(KhoV1Corrupt, ChunkPaInvalid) {
  Encoded e = TwoChunks();
  const uint64_t root = e.model.root_pa();
  for (uint64_t bad : {root + 8, uint64_t{kOutside}}) {
    SCOPED_TRACE(bad);
    auto d = Decode(KhoVersion::kV1, bad, e.image);
    ExpectFirstError(*d, Reason::kTrackerPaInvalid, ChunkPath(0), bad);
  }
  for (uint64_t bad : {e.model.chunks[1].pa + 0x800, uint64_t{kOutside}}) {
    SCOPED_TRACE(bad);
    Encoded e2 = TwoChunks();
    PokeU64(e2.image, ChunkNextPa(e2.model.chunks[0]), bad);
    auto d = Decode(e2);
    ExpectFirstError(*d, Reason::kTrackerPaInvalid, ChunkPath(1), bad);
  }
}

TEST(KhoV1Corrupt, ChunkListCycles) {
  struct Case {
    const char* name;
    size_t from, to;  // chunks[from].next = chunks[to]
    size_t reported_index;
  };
  // With three chunks A -> B -> C.
  for (const Case& c : {Case{"self", 0, 0, 1}, Case{"back_to_head", 1, 0, 2},
                        Case{"into_the_middle", 2, 1, 3}, Case{"last_to_itself", 2, 2, 3}}) {
    SCOPED_TRACE(c.name);
    Encoded e = Encode(KhoVersion::kV1, {{0x100000000, 0}, {0x100000000, 1}, {0x200000000, 2}});
    ASSERT_EQ(e.model.chunks.size(), 3u);
    const uint64_t target = e.model.chunks[c.to].pa;
    PokeU64(e.image, ChunkNextPa(e.model.chunks[c.from]), target);
    auto d = Decode(e);
    ExpectFirstError(*d, Reason::kTrackerPageReused, ChunkPath(c.reported_index), target);
  }
}

TEST(KhoV1Corrupt, ChunkOrderAbove52) {
  for (uint32_t order : {53u, 64u, 0xffffffffu}) {
    SCOPED_TRACE(order);
    Encoded e = TwoChunks();
    absl::Span<uint8_t> field = e.image.Mutable(ChunkOrderPa(e.model.chunks[1]), 4);
    ASSERT_EQ(field.size(), 4u);
    std::memcpy(field.data(), &order, 4);
    auto d = Decode(e);
    ExpectFirstError(*d, Reason::kTrackerBadOrder, ChunkPath(1) + ".order", e.model.chunks[1].pa);
  }
}

TEST(KhoV1Corrupt, TooManyEntries) {
  for (uint32_t n : {256u, 0xffffffffu}) {
    SCOPED_TRACE(n);
    Encoded e = TwoChunks();
    absl::Span<uint8_t> field = e.image.Mutable(ChunkNumElmsPa(e.model.chunks[0]), 4);
    ASSERT_EQ(field.size(), 4u);
    std::memcpy(field.data(), &n, 4);
    auto d = Decode(e);
    ExpectFirstError(*d, Reason::kTrackerTooManyEntries, ChunkPath(0) + ".num_elms",
                     e.model.chunks[0].pa);
  }
}

TEST(KhoV1Corrupt, FullChunkOf255EntriesIsFine) {
  std::vector<Folio> folios;
  for (uint64_t i = 0; i < 255; ++i) folios.push_back({i << 27, 0});
  Encoded e = Encode(KhoVersion::kV1, folios);
  ASSERT_EQ(e.model.chunks.size(), 1u);
  auto d = Decode(e);
  EXPECT_TRUE(d->ok) << Problems(d->diag);
}

TEST(KhoV1Corrupt, UnalignedPhysStart) {
  Encoded e = TwoChunks();
  const TrackerChunk& order3 = e.model.chunks[1];
  const uint64_t bad = order3.entries[0].phys_start + 0x1000;  // order 3: 32 KiB alignment
  PokeU64(e.image, EntryPhysStartPa(order3, 0), bad);
  auto d = Decode(e);
  ExpectFirstError(*d, Reason::kTrackerUnalignedStart, ChunkPath(1) + ".entry[0]", bad);
}

TEST(KhoV1Corrupt, BitmapPaInvalid) {
  for (uint64_t delta : {uint64_t{8}, uint64_t{0}}) {
    Encoded e = TwoChunks();
    const uint64_t bad = delta == 0 ? 0 : e.model.chunks[0].entries[1].bitmap_pa + delta;
    PokeU64(e.image, EntryBitmapPa(e.model.chunks[0], 1), bad);
    auto d = Decode(e);
    ExpectFirstError(*d, Reason::kTrackerPaInvalid, ChunkPath(0) + ".entry[1].bitmap", bad);
  }
  Encoded e = TwoChunks();
  PokeU64(e.image, EntryBitmapPa(e.model.chunks[1], 0), kOutside);
  auto d = Decode(e);
  ExpectFirstError(*d, Reason::kTrackerPaInvalid, ChunkPath(1) + ".entry[0].bitmap", kOutside);
}

TEST(KhoV1Corrupt, BitmapSharedByTwoEntries) {
  Encoded e = TwoChunks();
  const uint64_t shared = e.model.chunks[0].entries[0].bitmap_pa;
  PokeU64(e.image, EntryBitmapPa(e.model.chunks[0], 1), shared);
  auto d = Decode(e);
  ExpectFirstError(*d, Reason::kTrackerPageReused, ChunkPath(0) + ".entry[1].bitmap", shared);
}

TEST(KhoV1Corrupt, BitmapSharedAcrossChunks) {
  Encoded e = TwoChunks();
  const uint64_t shared = e.model.chunks[0].entries[0].bitmap_pa;
  PokeU64(e.image, EntryBitmapPa(e.model.chunks[1], 0), shared);
  auto d = Decode(e);
  ExpectFirstError(*d, Reason::kTrackerPageReused, ChunkPath(1) + ".entry[0].bitmap", shared);
}

TEST(KhoV1Corrupt, ChunkPageReusedAsBitmap) {
  {
    Encoded e = TwoChunks();  // a later chunk's entry uses an earlier chunk
    const uint64_t chunk0 = e.model.chunks[0].pa;
    PokeU64(e.image, EntryBitmapPa(e.model.chunks[1], 0), chunk0);
    auto d = Decode(e);
    ExpectFirstError(*d, Reason::kTrackerPageReused, ChunkPath(1) + ".entry[0].bitmap", chunk0);
  }
  {
    Encoded e = TwoChunks();  // a chunk's entry uses its own page
    const uint64_t chunk1 = e.model.chunks[1].pa;
    PokeU64(e.image, EntryBitmapPa(e.model.chunks[1], 0), chunk1);
    auto d = Decode(e);
    ExpectFirstError(*d, Reason::kTrackerPageReused, ChunkPath(1) + ".entry[0].bitmap", chunk1);
  }
  {
    // The next chunk is an earlier entry's bitmap. Its first word (read as
    // `next`) is 0: the folio is bit 64.
    Encoded e = Encode(KhoVersion::kV1, {{0x100000000, 0}, {0x200000000 + 64 * kPageSize, 0}});
    ASSERT_EQ(e.model.chunks.size(), 1u);
    const uint64_t bitmap = e.model.chunks[0].entries[1].bitmap_pa;
    PokeU64(e.image, ChunkNextPa(e.model.chunks[0]), bitmap);
    auto d = Decode(e);
    ExpectFirstError(*d, Reason::kTrackerPageReused, ChunkPath(1), bitmap);
  }
}

TEST(KhoV1Corrupt, FolioRunningPastTwoToThe64) {
  // Bit 32767 of an order-0 bitmap starting at the last page.
  Encoded e = Encode(KhoVersion::kV1, {{kTopPage, 0}});
  ASSERT_EQ(e.model.chunks[0].entries[0].phys_start, 0xfffffffff8000000u);
  PokeU64(e.image, EntryPhysStartPa(e.model.chunks[0], 0), kTopPage);
  auto d = Decode(e);
  ExpectFirstError(*d, Reason::kTrackerRangeOverflow, ChunkPath(0) + ".entry[0].bit[32767]",
                   kTopPage);
}

// Order 52 (a folio of 2^64 bytes): bit 0 at phys_start 0 is the whole
// address space; bit 1 would start at 2^64.
TEST(KhoV1Corrupt, Order52FolioPastTwoToThe64) {
  Encoded e = Encode(KhoVersion::kV1, {{0, 0}});
  const TrackerChunk& c = e.model.chunks[0];
  ASSERT_EQ(c.entries[0].phys_start, 0u);
  const uint32_t order = 52;
  std::memcpy(e.image.Mutable(ChunkOrderPa(c), 4).data(), &order, 4);
  SetBit(e.image, c.entries[0].bitmap_pa, 1);
  auto d = Decode(e);
  ExpectFirstError(*d, Reason::kTrackerRangeOverflow, ChunkPath(0) + ".entry[0].bit[1]", 0);
  EXPECT_EQ(d->model.folios, (std::vector<Folio>{{0, 52}}));
}

TEST(KhoV1Corrupt, OverlappingFolios) {
  // The same memory as an order-0 and an order-1 folio (two chunks).
  Encoded e = Encode(KhoVersion::kV1, {{0x400000, 0}, {0x400000, 1}});
  auto d = Decode(e);
  ASSERT_TRUE(d->ok) << Problems(d->diag);
  ExpectFirstError(*d, Reason::kTrackerOverlap, "preserved.folio[1]", 0x400000);
}

TEST(KhoV1Corrupt, OverlappingEntriesOfOneChunk) {
  // Two entries of one chunk with the same phys_start: each bitmap's bit 0
  // is the same folio.
  Encoded e = TwoChunks();
  const TrackerChunk& c = e.model.chunks[0];
  PokeU64(e.image, EntryPhysStartPa(c, 1), c.entries[0].phys_start);
  auto d = Decode(e);
  EXPECT_FALSE(d->ok);
  // Reported at the second entry, before any folio is compared: two bitmaps
  // of one order must not cover overlapping ranges at all.
  ExpectFirstError(*d, Reason::kTrackerOverlap, "tracker.chunks.chunk[0].entry[1]", 0x100000000);
}

// ===========================================================================
// Limits
// ===========================================================================

class LimitTest : public ::testing::TestWithParam<KhoVersion> {};

TEST_P(LimitTest, MaxFolios) {
  std::vector<Folio> folios;
  for (uint64_t i = 0; i < 5; ++i) folios.push_back({0x100000000 + i * kPageSize, 0});
  Encoded e = Encode(GetParam(), folios);
  Options o;
  o.max_folios = 5;
  EXPECT_TRUE(Decode(e, o)->ok);
  o.max_folios = 4;
  auto d = Decode(e, o);
  const std::string path =
      GetParam() == KhoVersion::kV2
          ? "tracker.radix.leaf[" + Dec(Prefix(kho_radix_key(folios[4].pa, 0), 0)) + "]"
          : ChunkPath(0) + ".entry[0]";
  ExpectFirstError(*d, Reason::kLimitFolios, path, folios[4].pa);
}

TEST_P(LimitTest, MaxTrackerPages) {
  // Three folios 128 MiB apart: kho-v2 needs root, 4 tables and 3 leaves;
  // kho-v1 one chunk and three bitmaps.
  Encoded e = Encode(GetParam(), {{0x100000000, 0}, {0x108000000, 0}, {0x110000000, 0}});
  const uint64_t pages = e.image.total_bytes() / kPageSize;
  ASSERT_EQ(pages, e.model.page_count());
  Options o;
  o.max_tracker_pages = pages;
  EXPECT_TRUE(Decode(e, o)->ok);
  o.max_tracker_pages = pages - 1;
  auto d = Decode(e, o);
  if (GetParam() == KhoVersion::kV2) {
    ASSERT_EQ(pages, 8u);
    ExpectFirstError(*d, Reason::kLimitTrackerPages, "tracker.radix.level[1]", e.model.root_pa());
  } else {
    ASSERT_EQ(pages, 4u);
    ExpectFirstError(*d, Reason::kLimitTrackerPages, ChunkPath(0) + ".entry[2]",
                     e.model.chunks[0].entries[2].bitmap_pa);
  }
}

TEST_P(LimitTest, MaxWork) {
  Encoded e = Encode(GetParam(), {kOrder0});
  Options o;
  o.max_work = 600;  // a table or chunk page costs 512, a bitmap page 512
  auto d = Decode(e, o);
  ASSERT_NE(d->diag.first_error(), nullptr) << Problems(d->diag);
  EXPECT_EQ(d->diag.first_error()->reason, Reason::kLimitWork) << Problems(d->diag);
  EXPECT_EQ(std::string(d->diag.first_error()->path),
            GetParam() == KhoVersion::kV2
                ? "tracker.radix.level[4].table[" + Dec(Prefix(kKey0, 4)) + "]"
                : ChunkPath(0) + ".entry[0]");
  EXPECT_EQ(d->diag.errors(), 1u) << "the walk stops at the limit";
  EXPECT_FALSE(d->ok);
}

INSTANTIATE_TEST_SUITE_P(Formats, LimitTest, ::testing::Values(KhoVersion::kV1, KhoVersion::kV2),
                         [](const ::testing::TestParamInfo<KhoVersion>& info) {
                           return info.param == KhoVersion::kV1 ? "kho_v1" : "kho_v2";
                         });

// Options::max_work reaches the tracker through the Decoder.
TEST(KhoTrackerLimits, MaxWorkThroughTheDecoder) {
  for (KhoVersion v : {KhoVersion::kV1, KhoVersion::kV2}) {
    HandoffBuilder::Config c;
    c.kho_version = v;
    HandoffBuilder b(c);
    b.AddFlb("test-flb", b.PreserveNew(0), 1);
    absl::StatusOr<HandoffModel> m = std::move(b).Finish();
    ASSERT_TRUE(m.ok()) << m.status();
    absl::StatusOr<Image> image = EncodeHandoff(*m);
    ASSERT_TRUE(image.ok()) << image.status();
    Options o;
    o.require_iommu = false;
    o.max_work = 1000;
    Decoder decoder(o);
    const DecodeResult& r = decoder.Decode(image->View());
    ASSERT_NE(r.diag.first_error(), nullptr) << Problems(r.diag);
    EXPECT_EQ(r.diag.first_error()->reason, Reason::kLimitWork) << Problems(r.diag);
    EXPECT_EQ(std::string(r.diag.first_error()->path).rfind("kho.tracker.", 0), 0u)
        << r.diag.first_error()->path;
    EXPECT_EQ(r.work_budget, 1000u);
    o.max_work = 0;  // the default budget is plenty
    Decoder roomy(o);
    EXPECT_TRUE(roomy.Decode(image->View()).ok()) << Problems(roomy.Decode(image->View()).diag);
  }
}

// ===========================================================================
// Encoder contract
// ===========================================================================

TEST(KhoTrackerEncode, RejectsFoliosItCannotHold) {
  PageAllocator allocator;
  for (const Folio& bad : {Folio{0x1800, 1}, Folio{0x1000, 53}, Folio{0x1234, 0}}) {
    EXPECT_EQ(PlanTracker(KhoVersion::kV2, {bad}, allocator).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad.pa << " " << bad.order;
    EXPECT_EQ(PlanTracker(KhoVersion::kV1, {bad}, allocator).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // A model whose folio has no leaf.
  Encoded e = Encode(KhoVersion::kV2, {kOrder0});
  TrackerModel m = e.model;
  m.folios.push_back(kOrder1);
  ImageBuilder builder;
  EXPECT_EQ(EncodeTracker(m, builder).code(), absl::StatusCode::kInvalidArgument);
}

// An order-52 folio (2^64 bytes, at PA 0) in a kho-v1 tracker: bit 0 of its
// bitmap, and no shift by 64 on the way (UBSan under --config=asan; the
// structure-aware mutator re-encoding a decoded handoff found it).
TEST(KhoTrackerTest, KhoV1EncodesAnOrder52Folio) {
  PageAllocator allocator;
  absl::StatusOr<TrackerModel> t = PlanTracker(KhoVersion::kV1, {{0, 52}}, allocator);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->chunks.size(), 1u);
  ASSERT_EQ(t->chunks[0].entries.size(), 1u);
  EXPECT_EQ(t->chunks[0].order, 52u);
  ImageBuilder builder;
  ASSERT_TRUE(EncodeTracker(*t, builder).ok());
  const Image image = std::move(builder).Build(0);
  const ImageView view = image.View();
  ImageReader reader(view);
  uint64_t word = 0;
  ASSERT_TRUE(reader.ReadU64(t->chunks[0].entries[0].bitmap_pa, &word));
  EXPECT_EQ(word, 1u);
}

}  // namespace
}  // namespace khoabi
