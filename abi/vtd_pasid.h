/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only */
/*
 * vtd_pasid.h - Intel VT-d scalable-mode PASID directory and PASID tables.
 *
 * Mirrors: drivers/iommu/intel/pasid.h and pasid.c (Linux mainline), the VT-d
 * specification's Scalable-Mode PASID Directory/Table Entry formats, and
 * IOMMU_NO_PASID from include/linux/iommu.h, as described in khoabi's
 * spec/vtd-pasid.md. Written from the spec; no upstream code is copied.
 *
 * DOC: Layout
 *
 * PASID p is entry (p & 63) of the PASID table that directory entry (p >> 6)
 * points at:
 *
 *   pasid directory (order log2(max_pasid) - 15)   pasid table (one page)
 *   +------------------+                            +------------------------+
 *   | dir[0]  P|table -+--------------------------> | entry 0  (8 x u64)     |
 *   | dir[1]  0        |                            | ...   64 entries       |
 *   | ...              |                            +------------------------+
 *   +------------------+ max_pasid >> 6 entries
 *
 * DOC: Checks a kernel can share
 *
 * The vtd_*_problems() functions look at one entry's bits, need no traversal
 * and allocate nothing: khoabi's decoder calls them and a kernel can include
 * the very same checks. Each returns a mask of VTD_*_BAD_* bits, 0 when the
 * entry is well formed; what a caller makes of each bit (error, warning) is
 * its policy.
 */
#ifndef KHOABI_ABI_VTD_PASID_H_
#define KHOABI_ABI_VTD_PASID_H_

#include "khoabi_types.h"

/* DMA without a PASID (requests-without-PASID use RID_PASID = 0). */
#define IOMMU_NO_PASID 0u

#define VTD_PASID_PDE_SHIFT 6                             /* PASIDs per table: 64 */
#define VTD_PASID_TBL_ENTRIES (1u << VTD_PASID_PDE_SHIFT) /* PASID_TBL_ENTRIES */
#define VTD_PASID_MAX 0x100000u                           /* PASID_MAX: 2^20 */
#define VTD_PASID_MIN_STORED_MAX 0x8000u                  /* order-0 directory: 2^15 */
#define VTD_PASID_DIR_MAX_ORDER 5                         /* 2^20 PASIDs: 128 KiB */

/**
 * struct pasid_dir_entry - one PASID directory entry.
 * @val: bit 0 P (present), bit 1 FPD, bits 11:2 reserved (zero), bits 63:12
 *       PA of a one-page PASID table.
 */
struct pasid_dir_entry {
  uint64_t val;
};
KHOABI_ASSERT_SIZE(struct pasid_dir_entry, 8);
KHOABI_ASSERT_OFFSET(struct pasid_dir_entry, val, 0);

/**
 * struct pasid_entry - one scalable-mode PASID table entry (64 bytes).
 * @val: eight qwords; Linux programs 0-2 and zeroes the rest. Fields below.
 */
struct pasid_entry {
  uint64_t val[8];
};
KHOABI_ASSERT_SIZE(struct pasid_entry, 64);
KHOABI_ASSERT_OFFSET(struct pasid_entry, val, 0);
KHOABI_STATIC_ASSERT(VTD_PASID_TBL_ENTRIES * sizeof(struct pasid_entry) == KHOABI_PAGE_SIZE,
                     "a PASID table is one page");

/* Directory entry bits. */
#define VTD_PDE_PRESENT (1ull << 0)
#define VTD_PDE_FPD (1ull << 1)
#define VTD_PDE_RESERVED 0xffcull /* bits 11:2 */
#define VTD_PDE_TABLE_MASK (~0xfffull)

/* PASID entry, qword 0. */
#define VTD_PE0_PRESENT (1ull << 0)
#define VTD_PE0_FPD (1ull << 1)
#define VTD_PE0_AW_SHIFT 2 /* bits 4:2 */
#define VTD_PE0_AW_MASK (7ull << VTD_PE0_AW_SHIFT)
#define VTD_PE0_SLEE (1ull << 5)
#define VTD_PE0_PGTT_SHIFT 6 /* bits 8:6 */
#define VTD_PE0_PGTT_MASK (7ull << VTD_PE0_PGTT_SHIFT)
#define VTD_PE0_SLADE (1ull << 9)
#define VTD_PE0_RESERVED 0xc00ull /* bits 11:10 */
#define VTD_PE0_SLPTPTR_MASK (~0xfffull)

/* PASID entry, qword 1. */
#define VTD_PE1_DID_MASK 0xffffull   /* bits 15:0 */
#define VTD_PE1_RESERVED 0x7f0000ull /* bits 22:16 */
#define VTD_PE1_PWSNP (1ull << 23)
#define VTD_PE1_PGSNP (1ull << 24)

/* PASID entry, qword 2. */
#define VTD_PE2_SRE (1ull << 0)
#define VTD_PE2_FLPM_SHIFT 2 /* bits 3:2 */
#define VTD_PE2_FLPM_MASK (3ull << VTD_PE2_FLPM_SHIFT)
#define VTD_PE2_WPE (1ull << 4)
#define VTD_PE2_NXE (1ull << 5)
#define VTD_PE2_EAFE (1ull << 7)
#define VTD_PE2_RESERVED 0xf00ull /* bits 11:8 */
#define VTD_PE2_FLPTPTR_MASK (~0xfffull)

/* PGTT: PASID granular translation type. 0 and 5-7 are invalid. */
#define VTD_PGTT_FL_ONLY 1u
#define VTD_PGTT_SL_ONLY 2u
#define VTD_PGTT_NESTED 3u
#define VTD_PGTT_PT 4u

/* AW: second-level address width; Linux uses 1-3. */
#define VTD_AW_39BIT_3LEVEL 1u
#define VTD_AW_48BIT_4LEVEL 2u
#define VTD_AW_57BIT_5LEVEL 3u

/* FLPM: first-level paging mode. */
#define VTD_FLPM_4LEVEL 0u
#define VTD_FLPM_5LEVEL 1u

/* --- accessors --------------------------------------------------------- */

static inline int vtd_pde_present(uint64_t pde) { return (int)(pde & VTD_PDE_PRESENT); }
static inline uint64_t vtd_pde_table_phys(uint64_t pde) { return pde & VTD_PDE_TABLE_MASK; }

static inline int vtd_pe_present(const struct pasid_entry *pe) {
  return (int)(pe->val[0] & VTD_PE0_PRESENT);
}
static inline unsigned int vtd_pe_aw(const struct pasid_entry *pe) {
  return (unsigned int)((pe->val[0] & VTD_PE0_AW_MASK) >> VTD_PE0_AW_SHIFT);
}
static inline unsigned int vtd_pe_pgtt(const struct pasid_entry *pe) {
  return (unsigned int)((pe->val[0] & VTD_PE0_PGTT_MASK) >> VTD_PE0_PGTT_SHIFT);
}
static inline uint64_t vtd_pe_slptptr(const struct pasid_entry *pe) {
  return pe->val[0] & VTD_PE0_SLPTPTR_MASK;
}
static inline unsigned int vtd_pe_did(const struct pasid_entry *pe) {
  return (unsigned int)(pe->val[1] & VTD_PE1_DID_MASK);
}
static inline unsigned int vtd_pe_flpm(const struct pasid_entry *pe) {
  return (unsigned int)((pe->val[2] & VTD_PE2_FLPM_MASK) >> VTD_PE2_FLPM_SHIFT);
}
static inline uint64_t vtd_pe_flptptr(const struct pasid_entry *pe) {
  return pe->val[2] & VTD_PE2_FLPTPTR_MASK;
}

/* --- directory sizing (intel_pasid_alloc_table) ------------------------ */

/*
 * vtd_pasid_dir_order - order of the directory Linux allocates for a device
 * supporting @max_pasid PASIDs: get_order(max_pasid / 8), 0 for no PASIDs.
 * REQUIRES: max_pasid <= VTD_PASID_MAX.
 */
static inline unsigned int vtd_pasid_dir_order(uint32_t max_pasid) {
  uint32_t bytes = max_pasid >> (VTD_PASID_PDE_SHIFT - 3);
  unsigned int order = 0;
  while ((KHOABI_PAGE_SIZE << order) < bytes) order++;
  return order;
}

/* vtd_pasid_stored_max - the rounded max_pasid Linux stores for @order. */
static inline uint64_t vtd_pasid_stored_max(unsigned int order) {
  return 1ull << (order + KHOABI_PAGE_SHIFT + 3);
}

/*
 * vtd_pasid_stored_max_order - directory order of a stored max_pasid, or -1
 * unless it is a power of two from 2^15 to 2^20.
 */
static inline int vtd_pasid_stored_max_order(uint64_t max_pasid) {
  int log2;
  if (max_pasid < VTD_PASID_MIN_STORED_MAX || max_pasid > VTD_PASID_MAX) return -1;
  if (max_pasid & (max_pasid - 1)) return -1;
  log2 = 63 - __builtin_clzll(max_pasid);
  return log2 - 15;
}

/* Directory entries that exist for a stored @max_pasid. */
static inline uint64_t vtd_pasid_dir_entries(uint64_t max_pasid) {
  return max_pasid >> VTD_PASID_PDE_SHIFT;
}

/* --- single-entry checks ----------------------------------------------- */

#define VTD_PDE_BAD_RESERVED (1u << 0) /* bits 11:2 set on a non-zero entry */
#define VTD_PDE_BAD_STALE (1u << 1)    /* not present, yet other bits set */

/* vtd_pde_problems - VTD_PDE_BAD_* bits of one directory entry. */
static inline unsigned int vtd_pde_problems(uint64_t pde) {
  unsigned int bad = 0;
  if (pde & VTD_PDE_RESERVED) bad |= VTD_PDE_BAD_RESERVED;
  if (!(pde & VTD_PDE_PRESENT) && pde != 0) bad |= VTD_PDE_BAD_STALE;
  return bad;
}

#define VTD_PE_BAD_RESERVED (1u << 0)    /* reserved bits of qwords 0-2 */
#define VTD_PE_BAD_HIGH_QWORDS (1u << 1) /* qwords 3-7 not zero */
#define VTD_PE_BAD_PGTT (1u << 2)        /* PGTT 0 or 5-7 */
#define VTD_PE_BAD_AW (1u << 3)          /* AW not 1-3 where PGTT needs it */
#define VTD_PE_BAD_FLPM (1u << 4)        /* FLPM not 0-1 where PGTT needs it */
#define VTD_PE_BAD_NO_SLPTPTR (1u << 5)  /* PGTT 2/3 without SLPTPTR */
#define VTD_PE_BAD_NO_FLPTPTR (1u << 6)  /* PGTT 1/3 without FLPTPTR */
#define VTD_PE_BAD_STALE (1u << 7)       /* not present, yet bits set */

/* Per PGTT value (bit n: PGTT n): which are valid, which use each level. */
#define VTD_PGTT_VALID_SET 0x1eu /* 1-4 */
#define VTD_PGTT_SL_SET 0x0cu    /* second level and nested use SLPTPTR, AW */
#define VTD_PGTT_FL_SET 0x0au    /* first level and nested use FLPTPTR, FLPM */
#define VTD_AW_VALID_SET 0x0eu   /* AW 1-3 */

/*
 * vtd_pasid_entry_problems - VTD_PE_BAD_* bits of one PASID entry.
 *
 * Present entries: reserved bits, qwords 3-7, PGTT, and per PGTT (first-level
 * 1, second-level 2, nested 3, pass-through 4) the fields it uses: AW 1-3 and
 * SLPTPTR for 2 and 3, FLPM 0-1 and FLPTPTR for 1 and 3; pass-through's
 * pointers are ignored; an invalid PGTT is only VTD_PE_BAD_PGTT (its fields
 * mean nothing). A non-present entry is only checked for leftovers.
 *
 * Written without data-dependent branches: a decoder runs it on each of up
 * to 2^20 entries of a directory, whose PGTTs and presence a branch
 * predictor cannot learn, and ORs the results of a whole table to know
 * whether anything in it needs reporting.
 */
static inline unsigned int vtd_pasid_entry_problems(const struct pasid_entry *pe) {
  const uint64_t q0 = pe->val[0], q1 = pe->val[1], q2 = pe->val[2];
  const uint64_t high = pe->val[3] | pe->val[4] | pe->val[5] | pe->val[6] | pe->val[7];
  const unsigned int pgtt = (unsigned int)((q0 & VTD_PE0_PGTT_MASK) >> VTD_PE0_PGTT_SHIFT);
  const unsigned int aw = (unsigned int)((q0 & VTD_PE0_AW_MASK) >> VTD_PE0_AW_SHIFT);
  const unsigned int flpm = (unsigned int)((q2 & VTD_PE2_FLPM_MASK) >> VTD_PE2_FLPM_SHIFT);
  const unsigned int sl = (VTD_PGTT_SL_SET >> pgtt) & 1u; /* 0 for an invalid PGTT */
  const unsigned int fl = (VTD_PGTT_FL_SET >> pgtt) & 1u;
  const uint64_t reserved =
      (q0 & VTD_PE0_RESERVED) | (q1 & VTD_PE1_RESERVED) | (q2 & VTD_PE2_RESERVED);
  const unsigned int bad_pgtt = ((VTD_PGTT_VALID_SET >> pgtt) & 1u) ^ 1u;
  const unsigned int bad_aw = ((VTD_AW_VALID_SET >> aw) & 1u) ^ 1u;
  const unsigned int present =
      ((unsigned int)(reserved != 0) * VTD_PE_BAD_RESERVED) |
      ((unsigned int)(high != 0) * VTD_PE_BAD_HIGH_QWORDS) | (bad_pgtt * VTD_PE_BAD_PGTT) |
      ((sl & bad_aw) * VTD_PE_BAD_AW) |
      ((sl & (unsigned int)((q0 & VTD_PE0_SLPTPTR_MASK) == 0)) * VTD_PE_BAD_NO_SLPTPTR) |
      ((fl & (unsigned int)(flpm > VTD_FLPM_5LEVEL)) * VTD_PE_BAD_FLPM) |
      ((fl & (unsigned int)((q2 & VTD_PE2_FLPTPTR_MASK) == 0)) * VTD_PE_BAD_NO_FLPTPTR);
  const unsigned int absent = (unsigned int)((q0 | q1 | q2 | high) != 0) * VTD_PE_BAD_STALE;
  /* All ones for a present entry, zero otherwise. */
  const unsigned int use_present = 0u - (unsigned int)(q0 & VTD_PE0_PRESENT);
  return (present & use_present) | (absent & ~use_present);
}

#endif /* KHOABI_ABI_VTD_PASID_H_ */
