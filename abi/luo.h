/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only */
/*
 * luo.h - the Live Update Orchestrator layer: LUO FDT and FLB list.
 *
 * Mirrors: include/linux/kho/abi/luo.h (luo-v1, luo-flb-v1), as described in
 * khoabi's spec/handoff.md. Written from the spec; no upstream code is copied.
 *
 * DOC: Contract
 *
 * LUO is one KHO user: the KHO root FDT has a node "LUO" whose data property
 * holds the PA of the one-page LUO FDT. Global objects whose lifetime is bound
 * to preserved files (File-Lifecycle-Bound objects, FLBs) are listed in one
 * header page:
 *
 *   LUO FDT (one page), compatible "luo-v1", "liveupdate-number" (u64)
 *    +- node "luo-flb", compatible "luo-flb-v1"
 *        +- "luo-flb-header": u64 PA of the FLB header page
 *   FLB header page: struct luo_flb_header_ser, then count x struct luo_flb_ser
 *
 * Each layer is versioned by its compatible string; a change needs a new one.
 */
#ifndef KHOABI_ABI_LUO_H_
#define KHOABI_ABI_LUO_H_

#include "khoabi_types.h"

/* Name of LUO's node in the KHO root FDT. */
#define LUO_KHO_NODE_NAME "LUO"

/* LUO FDT. */
#define LUO_FDT_COMPATIBLE "luo-v1"
#define LUO_FDT_PROP_LIVEUPDATE_NUMBER "liveupdate-number"

/* FLB node of the LUO FDT. */
#define LUO_FDT_FLB_NODE_NAME "luo-flb"
#define LUO_FDT_FLB_COMPATIBLE "luo-flb-v1"
#define LUO_FDT_FLB_PROP_HEADER "luo-flb-header"

/* Bytes of an FLB's name, NUL included: at most 47 characters. */
#define LIVEUPDATE_FLB_COMPAT_LENGTH 48

/**
 * struct luo_flb_header_ser - start of the FLB header page.
 * @pgcnt: pages of the header allocation (1: the header folio is order 0).
 * @count: struct luo_flb_ser entries that follow.
 */
struct luo_flb_header_ser {
  uint64_t pgcnt;
  uint64_t count;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct luo_flb_header_ser, 16);
KHOABI_ASSERT_OFFSET(struct luo_flb_header_ser, pgcnt, 0);
KHOABI_ASSERT_OFFSET(struct luo_flb_header_ser, count, 8);

/**
 * struct luo_flb_ser - one preserved FLB.
 * @name:  NUL-terminated compatible string of the FLB (the lookup key).
 * @data:  opaque u64 handle owned by the FLB; for IOMMU, the PA of its
 *         struct iommu_flb_ser.
 * @count: preserved files that depend on this FLB.
 */
struct luo_flb_ser {
  char name[LIVEUPDATE_FLB_COMPAT_LENGTH];
  uint64_t data;
  uint64_t count;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct luo_flb_ser, 64);
KHOABI_ASSERT_OFFSET(struct luo_flb_ser, name, 0);
KHOABI_ASSERT_OFFSET(struct luo_flb_ser, data, 48);
KHOABI_ASSERT_OFFSET(struct luo_flb_ser, count, 56);

/* Entries that fit in a one-page header: (4096 - 16) / 64. */
#define LUO_FLB_ENTRIES_PER_PAGE \
  ((KHOABI_PAGE_SIZE - sizeof(struct luo_flb_header_ser)) / sizeof(struct luo_flb_ser))
KHOABI_STATIC_ASSERT(LUO_FLB_ENTRIES_PER_PAGE == 63, "FLB entries per header page");

#endif /* KHOABI_ABI_LUO_H_ */
