/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only */
/*
 * kexec_handover.h - the KHO core layer: root FDT and preserved-memory tracker.
 *
 * Mirrors: include/linux/kho/abi/kexec_handover.h (kho-v2) and the kho-v1
 * serialization in kernel/kexec_handover.c (Linux 6.16-6.18), as described in
 * khoabi's spec/handoff.md. Written from the spec; no upstream code is copied.
 *
 * DOC: Contract
 *
 * The root of a handoff is a one-page flattened device tree (the KHO root
 * FDT). Its "compatible" names the KHO version; any change to what follows
 * needs a new compatible string:
 *
 *   KHO root FDT (one page), compatible "kho-v1" | "kho-v2"
 *    +- "preserved-memory-map": u64 PA of the tracker root (native endian)
 *    +- node per KHO user (e.g. "LUO")
 *        +- "fdt" (kho-v1) | "preserved-data" (kho-v2): u64 PA of its data
 *
 * u64 properties hold the raw 8 bytes of a little-endian u64, not the FDT's
 * big-endian cells.
 *
 * DOC: kho-v2 tracker - a radix tree of pages
 *
 * A preserved folio (pa, order) is one set bit, at the key
 *
 *   key = (1 << (52 - order)) | (pa >> (12 + order))
 *
 * The highest set bit of the key encodes the order (bit 52 = order 0). Bits
 * 14:0 of the key index a one-page leaf bitmap (32768 bits); five levels of
 * one-page tables of 512 u64 PAs consume 9 bits each above that:
 *
 *   key bits  63:60  59:51  50:42  41:33  32:24  23:15  14:0
 *             zero   lvl 5  lvl 4  lvl 3  lvl 2  lvl 1  leaf bit
 *                    (root)
 *
 * Six pages from the root to a leaf. A table entry of 0 means "no child".
 *
 * DOC: kho-v1 tracker - a list of bitmap chunks
 *
 * "preserved-memory-map" points at the first of a singly linked list of
 * one-page chunks. Each chunk holds bitmaps of one folio order: an entry
 * { phys_start, bitmap } says that bit b of the one-page bitmap at "bitmap"
 * preserves the folio at phys_start + (b << (order + 12)).
 */
#ifndef KHOABI_ABI_KEXEC_HANDOVER_H_
#define KHOABI_ABI_KEXEC_HANDOVER_H_

#include "khoabi_types.h"

/* Root FDT compatible strings, one per KHO version. */
#define KHO_V1_FDT_COMPATIBLE "kho-v1"
#define KHO_V2_FDT_COMPATIBLE "kho-v2"

/* Root FDT property: u64 PA of the preserved-memory tracker's root. */
#define KHO_PROP_PRESERVED_MEMORY_MAP "preserved-memory-map"

/* Sub-node property holding the u64 PA of a KHO user's data. */
#define KHO_V1_PROP_SUB_FDT "fdt"
#define KHO_V2_PROP_SUB_DATA "preserved-data"

/* Every u64 property is exactly this long. */
#define KHO_U64_PROP_SIZE 8u

/* --- kho-v2 radix tree ------------------------------------------------- */

/* Key bit that marks an order-0 folio: 64 - PAGE_SHIFT. */
#define KHO_RADIX_ORDER0_BIT 52
/* Largest order a key can encode. */
#define KHO_RADIX_MAX_ORDER KHO_RADIX_ORDER0_BIT
/* log2 of the entries of a table node: 4096 / sizeof(u64) = 512. */
#define KHO_RADIX_TABLE_BITS 9
#define KHO_RADIX_TABLE_ENTRIES (1u << KHO_RADIX_TABLE_BITS)
/* log2 of the bits of a leaf: 4096 * 8 = 32768. */
#define KHO_RADIX_LEAF_BITS 15
#define KHO_RADIX_LEAF_ENTRIES (1u << KHO_RADIX_LEAF_BITS)
/* Table levels above the leaves; level 5 is the root. */
#define KHO_RADIX_TABLE_LEVELS 5
/* Pages on the path from the root to a leaf, leaf included. */
#define KHO_RADIX_DEPTH (KHO_RADIX_TABLE_LEVELS + 1)
/* The root consumes key bits 59:51; a root index >= 4 would mean order < 0. */
#define KHO_RADIX_ROOT_MAX_INDEX 3u

/**
 * struct kho_radix_node - a table page of the kho-v2 tracker.
 * @table: PAs of the nodes one level down, 0 for none.
 */
struct kho_radix_node {
  uint64_t table[KHO_RADIX_TABLE_ENTRIES];
};
KHOABI_ASSERT_SIZE(struct kho_radix_node, 4096);
KHOABI_ASSERT_OFFSET(struct kho_radix_node, table, 0);

/**
 * struct kho_radix_leaf - a leaf page of the kho-v2 tracker.
 * @bitmap: bit b (word b / 64, bit b % 64; byte b / 8, bit b % 8 in memory
 *          order) set means the folio with key bits 14:0 == b is preserved.
 */
struct kho_radix_leaf {
  uint64_t bitmap[KHO_RADIX_LEAF_ENTRIES / 64];
};
KHOABI_ASSERT_SIZE(struct kho_radix_leaf, 4096);
KHOABI_ASSERT_OFFSET(struct kho_radix_leaf, bitmap, 0);

/*
 * kho_radix_key - key of the folio of @order at @pa.
 * REQUIRES: order <= KHO_RADIX_MAX_ORDER, pa aligned to the folio size.
 */
static inline uint64_t kho_radix_key(uint64_t pa, unsigned int order) {
  /* Order 52 is the whole address space: its only PA is 0, and shifting a
   * u64 by 64 is undefined. */
  uint64_t index = KHOABI_PAGE_SHIFT + order >= 64 ? 0 : pa >> (KHOABI_PAGE_SHIFT + order);
  return (1ull << (KHO_RADIX_ORDER0_BIT - order)) | index;
}

/*
 * kho_radix_key_order - the order a key encodes, or -1 for a key that encodes
 * none: key 0, or a highest set bit above bit 52 (a root index >= 4).
 */
static inline int kho_radix_key_order(uint64_t key) {
  int top;
  if (key == 0) return -1;
  top = 63 - __builtin_clzll(key);
  if (top > KHO_RADIX_ORDER0_BIT) return -1;
  return KHO_RADIX_ORDER0_BIT - top;
}

/*
 * kho_radix_key_pa - PA of the folio a valid key encodes.
 * REQUIRES: kho_radix_key_order(key) == order >= 0.
 */
static inline uint64_t kho_radix_key_pa(uint64_t key, int order) {
  uint64_t index = key & ~(1ull << (KHO_RADIX_ORDER0_BIT - order));
  /* Order 52 (key 1): index 0, and a shift by 64 would be undefined. */
  return KHOABI_PAGE_SHIFT + order >= 64 ? 0 : index << (KHOABI_PAGE_SHIFT + order);
}

/*
 * kho_radix_level_shift - lowest key bit that a table of @level (1..5)
 * indexes; kho_radix_level_index - that table's index for @key.
 */
static inline unsigned int kho_radix_level_shift(unsigned int level) {
  return KHO_RADIX_LEAF_BITS + (level - 1) * KHO_RADIX_TABLE_BITS;
}

static inline unsigned int kho_radix_level_index(uint64_t key, unsigned int level) {
  return (unsigned int)(key >> kho_radix_level_shift(level)) & (KHO_RADIX_TABLE_ENTRIES - 1);
}

/* kho_radix_leaf_index - the bit of a leaf bitmap that @key selects. */
static inline unsigned int kho_radix_leaf_index(uint64_t key) {
  return (unsigned int)key & (KHO_RADIX_LEAF_ENTRIES - 1);
}

/* --- kho-v1 bitmap chunks ---------------------------------------------- */

/* Bits of one bitmap page: folios of one order that one entry can describe. */
#define KHO_V1_PRESERVE_BITS (KHOABI_PAGE_SIZE * 8)

/**
 * struct khoser_mem_chunk_hdr - header of a kho-v1 tracker chunk page.
 * @next:     PA of the next chunk, 0 ends the list.
 * @order:    folio order of every bitmap in this chunk.
 * @num_elms: entries that follow (at most KHOSER_BITMAP_SIZE).
 */
struct khoser_mem_chunk_hdr {
  uint64_t next;
  uint32_t order;
  uint32_t num_elms;
};
KHOABI_ASSERT_SIZE(struct khoser_mem_chunk_hdr, 16);
KHOABI_ASSERT_OFFSET(struct khoser_mem_chunk_hdr, next, 0);
KHOABI_ASSERT_OFFSET(struct khoser_mem_chunk_hdr, order, 8);
KHOABI_ASSERT_OFFSET(struct khoser_mem_chunk_hdr, num_elms, 12);

/**
 * struct khoser_mem_bitmap_ptr - one kho-v1 chunk entry.
 * @phys_start: PA of the folio that bit 0 of the bitmap stands for.
 * @bitmap:     PA of a one-page bitmap (KHO_V1_PRESERVE_BITS bits).
 */
struct khoser_mem_bitmap_ptr {
  uint64_t phys_start;
  uint64_t bitmap;
};
KHOABI_ASSERT_SIZE(struct khoser_mem_bitmap_ptr, 16);
KHOABI_ASSERT_OFFSET(struct khoser_mem_bitmap_ptr, phys_start, 0);
KHOABI_ASSERT_OFFSET(struct khoser_mem_bitmap_ptr, bitmap, 8);

/* Entries per chunk page: (4096 - 16) / 16. */
#define KHOSER_BITMAP_SIZE \
  ((KHOABI_PAGE_SIZE - sizeof(struct khoser_mem_chunk_hdr)) / sizeof(struct khoser_mem_bitmap_ptr))
KHOABI_STATIC_ASSERT(KHOSER_BITMAP_SIZE == 255, "kho-v1 chunk capacity");

/**
 * struct khoser_mem_chunk - one kho-v1 chunk page.
 * @hdr:     see struct khoser_mem_chunk_hdr.
 * @bitmaps: the first @hdr.num_elms entries are valid.
 */
struct khoser_mem_chunk {
  struct khoser_mem_chunk_hdr hdr;
  struct khoser_mem_bitmap_ptr bitmaps[255];
};
KHOABI_ASSERT_SIZE(struct khoser_mem_chunk, 4096);
KHOABI_ASSERT_OFFSET(struct khoser_mem_chunk, hdr, 0);
KHOABI_ASSERT_OFFSET(struct khoser_mem_chunk, bitmaps, 16);

#endif /* KHOABI_ABI_KEXEC_HANDOVER_H_ */
