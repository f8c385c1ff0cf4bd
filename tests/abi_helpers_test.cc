// The static inline helpers of //abi, against values worked out by hand from
// spec/handoff.md and spec/vtd-pasid.md.
#include <cstring>

#include "abi/iommu.h"
#include "abi/kexec_handover.h"
#include "abi/vtd_pasid.h"
#include "gtest/gtest.h"

namespace {

TEST(KhoRadixKeyTest, EncodesOrderInTheTopBit) {
  EXPECT_EQ(kho_radix_key(0x1000, 0), (1ull << 52) | 1);
  EXPECT_EQ(kho_radix_key(0x0, 0), 1ull << 52);
  // order 1 at 8 KiB: (1 << 51) | (0x2000 >> 13)
  EXPECT_EQ(kho_radix_key(0x2000, 1), (1ull << 51) | 1);
  // order 9 (2 MiB) at 4 GiB: (1 << 43) | (2^32 >> 21)
  EXPECT_EQ(kho_radix_key(1ull << 32, 9), (1ull << 43) | (1ull << 11));
}

TEST(KhoRadixKeyTest, DecodesWhatItEncodes) {
  for (unsigned order : {0u, 1u, 5u, 9u, 18u, 30u}) {
    uint64_t pa = 0x123456789000ull & ~((1ull << (12 + order)) - 1);
    uint64_t key = kho_radix_key(pa, order);
    ASSERT_EQ(kho_radix_key_order(key), static_cast<int>(order));
    EXPECT_EQ(kho_radix_key_pa(key, static_cast<int>(order)), pa);
  }
}

// Order 52 is the largest a key encodes (key 1: the whole address space at
// PA 0). Its shift count would be 64: the helpers must not shift by it
// (undefined behaviour, which --config=asan traps).
TEST(KhoRadixKeyTest, OrderFiftyTwoIsKeyOne) {
  EXPECT_EQ(kho_radix_key(0, 52), 1u);
  EXPECT_EQ(kho_radix_key_order(1), 52);
  EXPECT_EQ(kho_radix_key_pa(1, 52), 0u);
  // Order 51 still shifts by 63 and has two folios.
  EXPECT_EQ(kho_radix_key(1ull << 63, 51), 3u);
  EXPECT_EQ(kho_radix_key_order(2), 51);
  EXPECT_EQ(kho_radix_key_pa(2, 51), 0u);
  EXPECT_EQ(kho_radix_key_pa(3, 51), 1ull << 63);
}

TEST(KhoRadixKeyTest, RejectsKeyZeroAndRootIndexFourOrMore) {
  EXPECT_EQ(kho_radix_key_order(0), -1);
  EXPECT_EQ(kho_radix_key_order(1ull << 53), -1);  // root index 4
  EXPECT_EQ(kho_radix_key_order(1ull << 63), -1);
  EXPECT_EQ(kho_radix_key_order(3ull << 51), 0);  // root index 3: top bit 52
}

TEST(KhoRadixKeyTest, LevelsIndexNineBitsAboveTheLeaf) {
  uint64_t key = (5ull << 51) | (7ull << 42) | (9ull << 33) | (11ull << 24) | (13ull << 15) | 17;
  EXPECT_EQ(kho_radix_level_index(key, 5), 5u);
  EXPECT_EQ(kho_radix_level_index(key, 4), 7u);
  EXPECT_EQ(kho_radix_level_index(key, 3), 9u);
  EXPECT_EQ(kho_radix_level_index(key, 2), 11u);
  EXPECT_EQ(kho_radix_level_index(key, 1), 13u);
  EXPECT_EQ(kho_radix_leaf_index(key), 17u);
}

TEST(VtdPasidSizingTest, DirectoryOrderAndStoredMax) {
  // bytes = max_pasid / 8; order = get_order(bytes); stored = 1 << (order + 15).
  EXPECT_EQ(vtd_pasid_dir_order(0), 0u);
  EXPECT_EQ(vtd_pasid_dir_order(1), 0u);
  EXPECT_EQ(vtd_pasid_dir_order(1u << 15), 0u);
  EXPECT_EQ(vtd_pasid_dir_order((1u << 15) + 8), 1u);
  EXPECT_EQ(vtd_pasid_dir_order(1u << 20), 5u);
  EXPECT_EQ(vtd_pasid_stored_max(0), 1ull << 15);
  EXPECT_EQ(vtd_pasid_stored_max(5), 1ull << 20);
  EXPECT_EQ(vtd_pasid_dir_entries(1ull << 20), 16384u);
}

TEST(VtdPasidSizingTest, StoredMaxMustBeAPowerOfTwoInRange) {
  EXPECT_EQ(vtd_pasid_stored_max_order(1ull << 15), 0);
  EXPECT_EQ(vtd_pasid_stored_max_order(1ull << 20), 5);
  EXPECT_EQ(vtd_pasid_stored_max_order(1ull << 14), -1);
  EXPECT_EQ(vtd_pasid_stored_max_order(1ull << 21), -1);
  EXPECT_EQ(vtd_pasid_stored_max_order((1ull << 16) + (1ull << 15)), -1);
  EXPECT_EQ(vtd_pasid_stored_max_order(0), -1);
}

TEST(VtdPdeTest, ReservedAndStaleBits) {
  EXPECT_EQ(vtd_pde_problems(0), 0u);
  EXPECT_EQ(vtd_pde_problems(0x5000 | VTD_PDE_PRESENT), 0u);
  EXPECT_EQ(vtd_pde_problems(0x5000 | VTD_PDE_PRESENT | VTD_PDE_FPD), 0u);
  EXPECT_EQ(vtd_pde_problems(0x5000 | VTD_PDE_PRESENT | (1ull << 2)), VTD_PDE_BAD_RESERVED);
  EXPECT_EQ(vtd_pde_problems(0x5000), VTD_PDE_BAD_STALE);
  EXPECT_EQ(vtd_pde_problems(1ull << 11), VTD_PDE_BAD_RESERVED | VTD_PDE_BAD_STALE);
  EXPECT_EQ(vtd_pde_table_phys(0x5003), 0x5000u);
}

pasid_entry SecondLevel() {
  pasid_entry e;
  std::memset(&e, 0, sizeof e);
  e.val[0] = 0x7000 | (2ull << 6) | (2ull << 2) | 1;  // SLPTPTR, PGTT 2, AW 2, P
  e.val[1] = 42;                                      // DID
  return e;
}

TEST(VtdPasidEntryTest, WellFormedEntriesHaveNoProblems) {
  pasid_entry e = SecondLevel();
  EXPECT_EQ(vtd_pasid_entry_problems(&e), 0u);
  EXPECT_EQ(vtd_pe_pgtt(&e), 2u);
  EXPECT_EQ(vtd_pe_aw(&e), 2u);
  EXPECT_EQ(vtd_pe_did(&e), 42u);
  EXPECT_EQ(vtd_pe_slptptr(&e), 0x7000u);
  pasid_entry zero;
  std::memset(&zero, 0, sizeof zero);
  EXPECT_EQ(vtd_pasid_entry_problems(&zero), 0u);
  pasid_entry pt;
  std::memset(&pt, 0, sizeof pt);
  pt.val[0] = (4ull << 6) | 1;  // pass-through needs no pointer
  EXPECT_EQ(vtd_pasid_entry_problems(&pt), 0u);
  pasid_entry fl;
  std::memset(&fl, 0, sizeof fl);
  fl.val[0] = (1ull << 6) | 1;
  fl.val[2] = 0x9000 | (1ull << 2);  // FLPTPTR, FLPM 5-level
  EXPECT_EQ(vtd_pasid_entry_problems(&fl), 0u);
  EXPECT_EQ(vtd_pe_flpm(&fl), 1u);
  EXPECT_EQ(vtd_pe_flptptr(&fl), 0x9000u);
}

TEST(VtdPasidEntryTest, EachDefectHasItsBit) {
  pasid_entry e = SecondLevel();
  e.val[0] |= 1ull << 10;
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_RESERVED);
  e = SecondLevel();
  e.val[1] |= 1ull << 16;
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_RESERVED);
  e = SecondLevel();
  e.val[2] |= 1ull << 8;
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_RESERVED);
  e = SecondLevel();
  e.val[5] = 1;
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_HIGH_QWORDS);
  e = SecondLevel();
  e.val[0] = (e.val[0] & ~VTD_PE0_PGTT_MASK) | (5ull << 6);
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_PGTT);
  e = SecondLevel();
  e.val[0] &= ~VTD_PE0_PGTT_MASK;
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_PGTT);
  e = SecondLevel();
  e.val[0] = (e.val[0] & ~VTD_PE0_AW_MASK) | (4ull << 2);
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_AW);
  e = SecondLevel();
  e.val[0] &= ~VTD_PE0_SLPTPTR_MASK;
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_NO_SLPTPTR);
  e = SecondLevel();
  e.val[0] = (e.val[0] & ~VTD_PE0_PGTT_MASK) | (3ull << 6);  // nested needs FLPTPTR too
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_NO_FLPTPTR);
  e.val[2] = 0x9000 | (2ull << 2);  // FLPM 2 is invalid
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_FLPM);
  e = SecondLevel();
  e.val[0] &= ~VTD_PE0_PRESENT;
  EXPECT_EQ(vtd_pasid_entry_problems(&e), VTD_PE_BAD_STALE);
}

// The branchy form vtd_pasid_entry_problems had before it was written
// without data-dependent branches, kept as the reference the new form must
// match bit for bit.
unsigned ReferenceEntryProblems(const pasid_entry& e) {
  const uint64_t q0 = e.val[0], q1 = e.val[1], q2 = e.val[2];
  const uint64_t high = e.val[3] | e.val[4] | e.val[5] | e.val[6] | e.val[7];
  unsigned bad = 0;
  if (!(q0 & VTD_PE0_PRESENT)) return (q0 | q1 | q2 | high) ? VTD_PE_BAD_STALE : 0;
  if ((q0 & VTD_PE0_RESERVED) | (q1 & VTD_PE1_RESERVED) | (q2 & VTD_PE2_RESERVED))
    bad |= VTD_PE_BAD_RESERVED;
  if (high) bad |= VTD_PE_BAD_HIGH_QWORDS;
  const unsigned pgtt = static_cast<unsigned>((q0 & VTD_PE0_PGTT_MASK) >> VTD_PE0_PGTT_SHIFT);
  const unsigned aw = static_cast<unsigned>((q0 & VTD_PE0_AW_MASK) >> VTD_PE0_AW_SHIFT);
  const unsigned flpm = static_cast<unsigned>((q2 & VTD_PE2_FLPM_MASK) >> VTD_PE2_FLPM_SHIFT);
  if (pgtt < VTD_PGTT_FL_ONLY || pgtt > VTD_PGTT_PT) return bad | VTD_PE_BAD_PGTT;
  if (pgtt == VTD_PGTT_SL_ONLY || pgtt == VTD_PGTT_NESTED) {
    if (aw < VTD_AW_39BIT_3LEVEL || aw > VTD_AW_57BIT_5LEVEL) bad |= VTD_PE_BAD_AW;
    if (!(q0 & VTD_PE0_SLPTPTR_MASK)) bad |= VTD_PE_BAD_NO_SLPTPTR;
  }
  if (pgtt == VTD_PGTT_FL_ONLY || pgtt == VTD_PGTT_NESTED) {
    if (flpm > VTD_FLPM_5LEVEL) bad |= VTD_PE_BAD_FLPM;
    if (!(q2 & VTD_PE2_FLPTPTR_MASK)) bad |= VTD_PE_BAD_NO_FLPTPTR;
  }
  return bad;
}

TEST(VtdPasidEntryTest, MatchesTheReferenceOnEveryFieldCombination) {
  // Every value of each field the checks read, with the other bits each
  // check looks at set or clear.
  int checked = 0;
  for (uint64_t present = 0; present < 2; ++present) {
    for (uint64_t pgtt = 0; pgtt < 8; ++pgtt) {
      for (uint64_t aw = 0; aw < 8; ++aw) {
        for (uint64_t flpm = 0; flpm < 4; ++flpm) {
          for (unsigned extra = 0; extra < 64; ++extra) {
            pasid_entry e;
            std::memset(&e, 0, sizeof e);
            e.val[0] = present | (aw << VTD_PE0_AW_SHIFT) | (pgtt << VTD_PE0_PGTT_SHIFT) |
                       ((extra & 1) ? 0x7000 : 0) | ((extra & 2) ? VTD_PE0_RESERVED & 0x400 : 0);
            e.val[1] = 42 | ((extra & 4) ? 1ull << 20 : 0);
            e.val[2] = (flpm << VTD_PE2_FLPM_SHIFT) | ((extra & 8) ? 0x9000 : 0) |
                       ((extra & 16) ? 1ull << 11 : 0);
            if (extra & 32) e.val[3 + extra % 5] = 1ull << (extra % 64);
            ASSERT_EQ(vtd_pasid_entry_problems(&e), ReferenceEntryProblems(e))
                << std::hex << e.val[0] << " " << e.val[1] << " " << e.val[2];
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 2 * 8 * 8 * 4 * 64);
}

TEST(VtdPasidEntryTest, MatchesTheReferenceOnRandomAndFlippedEntries) {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  auto next = [&s] {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  for (int i = 0; i < 200000; ++i) {
    pasid_entry e;
    // Sparse words (AND of two or three draws) reach the valid corner often;
    // dense ones hit every reserved bit.
    for (uint64_t& q : e.val) q = i % 3 == 0 ? next() : next() & next() & (i % 2 ? next() : ~0ull);
    if (i % 4 != 0) {
      for (int q = 3; q < 8; ++q) e.val[q] = 0;
    }
    ASSERT_EQ(vtd_pasid_entry_problems(&e), ReferenceEntryProblems(e)) << i;
  }
  // Every single-bit flip of well-formed entries of each PGTT.
  for (uint64_t pgtt = 1; pgtt <= 4; ++pgtt) {
    pasid_entry base = SecondLevel();
    base.val[0] = (base.val[0] & ~VTD_PE0_PGTT_MASK) | (pgtt << VTD_PE0_PGTT_SHIFT);
    base.val[2] = 0x9000 | (1ull << VTD_PE2_FLPM_SHIFT);
    ASSERT_EQ(vtd_pasid_entry_problems(&base), 0u) << pgtt;
    for (unsigned bit = 0; bit < 512; ++bit) {
      pasid_entry e = base;
      e.val[bit / 64] ^= 1ull << (bit % 64);
      ASSERT_EQ(vtd_pasid_entry_problems(&e), ReferenceEntryProblems(e)) << pgtt << " " << bit;
    }
  }
}

TEST(IommuAbiTest, ContextTableBitAndCapacities) {
  EXPECT_EQ(iommu_intel_context_table_bit(0, 0), 0u);
  EXPECT_EQ(iommu_intel_context_table_bit(0, 0x80), 1u);
  EXPECT_EQ(iommu_intel_context_table_bit(255, 0xff), 511u);
  EXPECT_EQ(IOMMU_A_HW_PER_PAGE, 36u);
  EXPECT_EQ(IOMMU_A_DOMAINS_PER_PAGE, 110u);
  EXPECT_EQ(IOMMU_A_DEVICES_PER_PAGE, 72u);
  EXPECT_EQ(IOMMU_B_HW_PER_PAGE, 36u);
  EXPECT_EQ(IOMMU_B_DOMAINS_PER_PAGE, 102u);
  EXPECT_EQ(IOMMU_B_DEVICES_PER_PAGE, 56u);
}

}  // namespace
