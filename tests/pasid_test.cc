// PasidEntriesClean, the decoder's fast path over a PASID table, against the
// entry-by-entry check it stands for: true exactly when
// vtd_pasid_entry_problems() is 0 for every entry. Entries it passes are
// never looked at again, so a single miss would be a check lost.
#include "lib/pasid.h"

#include <cstring>
#include <vector>

#include "abi/vtd_pasid.h"
#include "gtest/gtest.h"

namespace khoabi {
namespace {

struct Table {
  alignas(64) uint8_t bytes[4096];

  Table() { std::memset(bytes, 0, sizeof bytes); }
  void Set(uint32_t i, const pasid_entry& e) { std::memcpy(bytes + i * sizeof e, &e, sizeof e); }
  pasid_entry Get(uint32_t i) const {
    pasid_entry e;
    std::memcpy(&e, bytes + i * sizeof e, sizeof e);
    return e;
  }
  bool AllWellFormed() const {
    for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) {
      const pasid_entry e = Get(i);
      if (vtd_pasid_entry_problems(&e) != 0) return false;
    }
    return true;
  }
};

uint64_t Next(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// A well-formed present entry of PGTT 1-4 chosen by `r`.
pasid_entry ValidEntry(uint64_t r) {
  pasid_entry e;
  std::memset(&e, 0, sizeof e);
  const uint64_t pgtt = 1 + (r & 3);
  e.val[0] = VTD_PE0_PRESENT | (pgtt << VTD_PE0_PGTT_SHIFT) | ((r >> 8) & 1 ? VTD_PE0_FPD : 0);
  if (pgtt == VTD_PGTT_SL_ONLY || pgtt == VTD_PGTT_NESTED) {
    e.val[0] |= (((r >> 9) | 1) << 12 & 0xfffff000ull) | ((1 + (r >> 2) % 3) << VTD_PE0_AW_SHIFT);
  }
  if (pgtt == VTD_PGTT_FL_ONLY || pgtt == VTD_PGTT_NESTED) {
    e.val[2] = (((r >> 20) | 1) << 12 & 0xfffff000ull) | (((r >> 4) & 1) << VTD_PE2_FLPM_SHIFT);
  }
  e.val[1] = (r >> 32) & VTD_PE1_DID_MASK;
  return e;
}

TEST(PasidEntriesCleanTest, EmptyAndWellFormedTablesAreClean) {
  Table t;
  EXPECT_TRUE(PasidEntriesClean(t.bytes, 64));
  uint64_t s = 1;
  for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) t.Set(i, ValidEntry(Next(s)));
  ASSERT_TRUE(t.AllWellFormed());
  EXPECT_TRUE(PasidEntriesClean(t.bytes, 64));
}

TEST(PasidEntriesCleanTest, EveryFieldCombinationInEverySlot) {
  uint64_t s = 7;
  Table base;
  for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) {
    if (i % 3 != 0) base.Set(i, ValidEntry(Next(s)));  // some absent (zero) entries too
  }
  int mismatches = 0, checked = 0;
  for (uint64_t q0_low = 0; q0_low < 512; ++q0_low) {  // P, FPD, AW, SLEE, PGTT
    for (unsigned extra = 0; extra < 64; ++extra) {
      pasid_entry e;
      std::memset(&e, 0, sizeof e);
      e.val[0] = q0_low | ((extra & 1) ? 0x7000 : 0) | ((extra & 2) ? 0x800 : 0);
      e.val[1] = 9 | ((extra & 4) ? 1ull << 17 : 0);
      e.val[2] = ((extra >> 3) & 3) << VTD_PE2_FLPM_SHIFT | ((extra & 32) ? 0x9000 : 0);
      if (q0_low % 7 == 0 && (extra & 16)) e.val[6] = 1;
      Table t = base;
      const uint32_t slot = static_cast<uint32_t>(q0_low + extra) % VTD_PASID_TBL_ENTRIES;
      t.Set(slot, e);
      const bool want = t.AllWellFormed();
      mismatches += PasidEntriesClean(t.bytes, 64) != want;
      ++checked;
      EXPECT_EQ(PasidEntriesClean(t.bytes, 64), want)
          << std::hex << e.val[0] << " " << e.val[1] << " " << e.val[2] << " slot " << slot;
      if (mismatches > 10) return;
    }
  }
  EXPECT_EQ(checked, 512 * 64);
}

TEST(PasidEntriesCleanTest, EveryBitFlipOfAWellFormedTable) {
  uint64_t s = 11;
  Table base;
  for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) {
    if (i % 5 != 4) base.Set(i, ValidEntry(Next(s)));
  }
  ASSERT_TRUE(PasidEntriesClean(base.bytes, 64));
  for (unsigned bit = 0; bit < 4096 * 8; ++bit) {
    Table t = base;
    t.bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_EQ(PasidEntriesClean(t.bytes, 64), t.AllWellFormed()) << "bit " << bit;
  }
}

TEST(PasidEntriesCleanTest, RandomTables) {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  int clean = 0;
  for (int round = 0; round < 20000; ++round) {
    Table t;
    for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) {
      pasid_entry e = ValidEntry(Next(s));
      // Now and then a random change to one qword, sparse or dense.
      if (Next(s) % 512 == 0) {
        const uint64_t r = Next(s);
        e.val[r % 8] ^= (r & 64) ? Next(s) : 1ull << (Next(s) % 64);
      }
      if (Next(s) % 8 == 0) std::memset(&e, 0, sizeof e);
      t.Set(i, e);
    }
    const bool want = t.AllWellFormed();
    clean += want;
    ASSERT_EQ(PasidEntriesClean(t.bytes, 64), want) << "round " << round;
  }
  // Both outcomes were exercised.
  EXPECT_GT(clean, 1000);
  EXPECT_LT(clean, 19000);
}

TEST(PasidEntriesCleanTest, LooksAtExactlyTheEntriesItIsGiven) {
  uint64_t s = 3;
  Table t;
  for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) t.Set(i, ValidEntry(Next(s)));
  pasid_entry bad = ValidEntry(Next(s));
  bad.val[4] = 1;
  for (uint32_t at : {0u, 1u, 31u, 63u}) {
    Table u = t;
    u.Set(at, bad);
    for (uint32_t first = 0; first < VTD_PASID_TBL_ENTRIES; ++first) {
      for (uint32_t count : {0u, 1u, 2u, VTD_PASID_TBL_ENTRIES - first}) {
        if (first + count > VTD_PASID_TBL_ENTRIES) continue;
        const bool covers = at >= first && at < first + count;
        EXPECT_EQ(PasidEntriesClean(u.bytes + first * 64, count), !covers)
            << "bad entry " << at << ", entries " << first << "+" << count;
      }
    }
  }
}

}  // namespace
}  // namespace khoabi
