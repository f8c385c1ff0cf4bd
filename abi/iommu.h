/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only */
/*
 * iommu.h - the IOMMU live-update records, in both ABI versions.
 *
 * Mirrors: include/linux/kho/abi/iommu.h from the series "iommu: Add live
 * update state preservation" (Samiullah Khawaja, 2025-2026), as described in
 * khoabi's spec/iommu-abi.md. Written from the spec; no upstream code is
 * copied. Sizes are what GCC and Clang give the upstream declarations on
 * x86-64.
 *
 * DOC: Contract
 *
 * Upstream's contract: any change to a serialized struct is a breaking change
 * and needs a new version. Two versions exist; this header describes both and
 * gives each struct that differs between them a distinct name:
 *
 *   ABI  FLB name (compatible)    version            structs
 *   A    "iommu-liveupdate-v1"    in the string      *_a (v2 posting, Apr-May 2026)
 *   B    "iommu-liveupdate"       iommu_flb_ser_b    *_b (later iterations, 2026:
 *                                 .version == 1           SMMUv3, dma_owner_token)
 *
 * Structs that are identical in A and B have one name.
 *
 * DOC: Layout
 *
 *   luo_flb_ser.data --> iommu_flb_ser (order-0 folio)
 *     +- iommu_array_phys -------> [hdr|hw|hw|...] --next--> [hdr|hw|...] --> 0
 *     +- iommu_domain_array_phys -> [hdr|dom|dom|...] --next--> ... --> 0
 *     +- device_array_phys ------> [hdr|dev|dev|...] --next--> ... --> 0
 *
 * Each array is a one-page, order-0 folio: a struct iommu_array_hdr_ser, then
 * nr_objects objects packed back to back. Every object starts with a struct
 * iommu_hdr_ser. A device refers to its domain and its IOMMU unit by the PA of
 * the referenced object (not of its page). An Intel device's PASID directory
 * is at intel.pasid_table (see vtd_pasid.h).
 */
#ifndef KHOABI_ABI_IOMMU_H_
#define KHOABI_ABI_IOMMU_H_

#include "khoabi_types.h"

/* FLB names (struct luo_flb_ser.name) and the version field of ABI B. */
#define IOMMU_A_FLB_COMPATIBLE "iommu-liveupdate-v1"
#define IOMMU_B_FLB_COMPATIBLE "iommu-liveupdate"
#define IOMMU_B_FLB_VERSION 1u

/* struct iommu_hdr_ser.flags bits. */
#define IOMMU_SER_FLAG_DELETED (1u << 0)  /* skip on restore */
#define IOMMU_SER_FLAG_INCOMING (1u << 1) /* set by the restoring kernel only */
#define IOMMU_SER_FLAGS_KNOWN (IOMMU_SER_FLAG_DELETED | IOMMU_SER_FLAG_INCOMING)

/* struct iommu_hw_ser_*.type codes (stored as u64). */
#define IOMMU_SER_TYPE_INVALID 0u
#define IOMMU_SER_TYPE_INTEL 1u
#define IOMMU_SER_TYPE_ARM_SMMUV3 2u /* ABI B only */

/**
 * struct iommu_hdr_ser - header of every serialized object.
 * @ref_count: references held by the preserving kernel (1 + users).
 * @flags:     IOMMU_SER_FLAG_* bits.
 */
struct iommu_hdr_ser {
  uint32_t ref_count;
  uint32_t flags;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_hdr_ser, 8);
KHOABI_ASSERT_OFFSET(struct iommu_hdr_ser, ref_count, 0);
KHOABI_ASSERT_OFFSET(struct iommu_hdr_ser, flags, 4);

/**
 * struct iommu_array_hdr_ser - header of a one-page object array.
 * @next_array_phys: PA of the next array page of the same type, 0 ends.
 * @nr_objects:      objects in this page, at most its type's capacity.
 */
struct iommu_array_hdr_ser {
  uint64_t next_array_phys;
  uint64_t nr_objects;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_array_hdr_ser, 16);
KHOABI_ASSERT_OFFSET(struct iommu_array_hdr_ser, next_array_phys, 0);
KHOABI_ASSERT_OFFSET(struct iommu_array_hdr_ser, nr_objects, 8);

/* Objects of @object_size bytes that fit in one array page. */
#define IOMMU_ARRAY_CAPACITY(object_size) \
  ((KHOABI_PAGE_SIZE - sizeof(struct iommu_array_hdr_ser)) / (object_size))

/**
 * struct iommu_dev_map_ser - a device's attachment (A and B).
 * @attachment_id: the domain id on the unit (domain_id_iommu()).
 * @domain_phys:   PA of the attached struct iommu_domain_ser_*.
 * @iommu_phys:    PA of the unit's struct iommu_hw_ser_*.
 */
struct iommu_dev_map_ser {
  uint64_t attachment_id;
  uint64_t domain_phys;
  uint64_t iommu_phys;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_dev_map_ser, 24);
KHOABI_ASSERT_OFFSET(struct iommu_dev_map_ser, attachment_id, 0);
KHOABI_ASSERT_OFFSET(struct iommu_dev_map_ser, domain_phys, 8);
KHOABI_ASSERT_OFFSET(struct iommu_dev_map_ser, iommu_phys, 16);

/**
 * struct iommu_intel_ser - Intel VT-d unit state (A and B; not packed).
 * @restored:              set by the restoring kernel only; 0 in a handoff.
 * @padding:               zero.
 * @phys_addr:             MMIO register base (not memory).
 * @root_table:            PA of the root-entry table (order-0 folio).
 * @context_tables_bitmap: one bit per preserved context table, bit
 *                         (bus << 1) + (devfn >> 7).
 */
struct iommu_intel_ser {
  uint8_t restored;
  uint8_t padding[7];
  uint64_t phys_addr;
  uint64_t root_table;
  uint64_t context_tables_bitmap[8];
};
KHOABI_ASSERT_SIZE(struct iommu_intel_ser, 88);
KHOABI_ASSERT_OFFSET(struct iommu_intel_ser, restored, 0);
KHOABI_ASSERT_OFFSET(struct iommu_intel_ser, padding, 1);
KHOABI_ASSERT_OFFSET(struct iommu_intel_ser, phys_addr, 8);
KHOABI_ASSERT_OFFSET(struct iommu_intel_ser, root_table, 16);
KHOABI_ASSERT_OFFSET(struct iommu_intel_ser, context_tables_bitmap, 24);

/* Bit of context_tables_bitmap for the context table of @bus / @devfn. */
static inline unsigned int iommu_intel_context_table_bit(unsigned int bus, unsigned int devfn) {
  return (bus << 1) + (devfn >> 7);
}

/* ===================== ABI A: "iommu-liveupdate-v1" ===================== */

/**
 * struct iommu_flb_ser_a - the IOMMU FLB's data (ABI A).
 * @iommu_array_phys:        first hardware-unit array page, 0 for none.
 * @iommu_domain_array_phys: first domain array page, 0 for none.
 * @device_array_phys:       first device array page, 0 for none.
 */
struct iommu_flb_ser_a {
  uint64_t iommu_array_phys;
  uint64_t iommu_domain_array_phys;
  uint64_t device_array_phys;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_flb_ser_a, 24);
KHOABI_ASSERT_OFFSET(struct iommu_flb_ser_a, iommu_array_phys, 0);
KHOABI_ASSERT_OFFSET(struct iommu_flb_ser_a, iommu_domain_array_phys, 8);
KHOABI_ASSERT_OFFSET(struct iommu_flb_ser_a, device_array_phys, 16);

/* struct iommu_domain_ser_a.sign_extend: the one defined bit. */
#define IOMMU_A_DOMAIN_SIGN_EXTEND (1u << 0)

/**
 * struct iommu_domain_ser_a - a preserved domain (ABI A), 37 bytes.
 * @hdr:              object header.
 * @top_table_phys:   PA of the top page-table page (order 0), 0 for none.
 * @top_level:        page-table levels.
 * @vasz:             virtual address size in bits.
 * @sign_extend:      upstream "u32 sign_extend:1" in a packed struct, kept as
 *                    the byte that holds it: only bit 0
 *                    (IOMMU_A_DOMAIN_SIGN_EXTEND) is defined, bits 1-7 are
 *                    unused (zero). The bitfield ends the byte, so
 *                    @restored_domain starts at 29.
 * @restored_domain:  upstream kernel pointer, written by the restoring kernel
 *                    only; 0 in a handoff.
 *
 * Objects of this size sit unaligned in their array page.
 */
struct iommu_domain_ser_a {
  struct iommu_hdr_ser hdr;
  uint64_t top_table_phys;
  uint64_t top_level;
  uint32_t vasz;
  uint8_t sign_extend;
  uint64_t restored_domain;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_domain_ser_a, 37);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_a, hdr, 0);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_a, top_table_phys, 8);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_a, top_level, 16);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_a, vasz, 24);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_a, sign_extend, 28);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_a, restored_domain, 29);

/**
 * struct iommu_device_intel_ser_a - an Intel device's PASID state (ABI A).
 * @pasid_table: PA of the PASID directory, 0 when none is handed over.
 * @max_pasid:   PASIDs the directory covers (power of two, 2^15..2^20), 0
 *               when none is handed over.
 */
struct iommu_device_intel_ser_a {
  uint64_t pasid_table;
  uint64_t max_pasid;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_device_intel_ser_a, 16);
KHOABI_ASSERT_OFFSET(struct iommu_device_intel_ser_a, pasid_table, 0);
KHOABI_ASSERT_OFFSET(struct iommu_device_intel_ser_a, max_pasid, 8);

/**
 * struct iommu_device_ser_a - a preserved device (ABI A).
 * @hdr:              object header.
 * @devid:            PCI requester id, bus << 8 | devfn (pci_dev_id()).
 * @pci_domain_nr:    PCI segment.
 * @domain_iommu_ser: the device's attachment.
 * @intel:            PASID state (Intel units).
 */
struct iommu_device_ser_a {
  struct iommu_hdr_ser hdr;
  uint32_t devid;
  uint32_t pci_domain_nr;
  struct iommu_dev_map_ser domain_iommu_ser;
  struct iommu_device_intel_ser_a intel;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_device_ser_a, 56);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_a, hdr, 0);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_a, devid, 8);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_a, pci_domain_nr, 12);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_a, domain_iommu_ser, 16);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_a, intel, 40);

/**
 * struct iommu_hw_ser_a - a preserved IOMMU unit (ABI A).
 * @hdr:   object header.
 * @token: identifies the unit across kexec (Intel: its register base).
 * @type:  IOMMU_SER_TYPE_INTEL (the only type A defines besides INVALID).
 * @intel: unit state.
 */
struct iommu_hw_ser_a {
  struct iommu_hdr_ser hdr;
  uint64_t token;
  uint64_t type;
  struct iommu_intel_ser intel;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_hw_ser_a, 112);
KHOABI_ASSERT_OFFSET(struct iommu_hw_ser_a, hdr, 0);
KHOABI_ASSERT_OFFSET(struct iommu_hw_ser_a, token, 8);
KHOABI_ASSERT_OFFSET(struct iommu_hw_ser_a, type, 16);
KHOABI_ASSERT_OFFSET(struct iommu_hw_ser_a, intel, 24);

#define IOMMU_A_HW_PER_PAGE IOMMU_ARRAY_CAPACITY(sizeof(struct iommu_hw_ser_a))
#define IOMMU_A_DOMAINS_PER_PAGE IOMMU_ARRAY_CAPACITY(sizeof(struct iommu_domain_ser_a))
#define IOMMU_A_DEVICES_PER_PAGE IOMMU_ARRAY_CAPACITY(sizeof(struct iommu_device_ser_a))
KHOABI_STATIC_ASSERT(IOMMU_A_HW_PER_PAGE == 36, "ABI A units per page");
KHOABI_STATIC_ASSERT(IOMMU_A_DOMAINS_PER_PAGE == 110, "ABI A domains per page");
KHOABI_STATIC_ASSERT(IOMMU_A_DEVICES_PER_PAGE == 72, "ABI A devices per page");

/* ============== ABI B: "iommu-liveupdate", version 1 ==================== */

/**
 * struct iommu_flb_ser_b - the IOMMU FLB's data (ABI B).
 * @version:                 IOMMU_B_FLB_VERSION; anything else is fatal.
 * @iommu_array_phys:        first hardware-unit array page (never 0).
 * @iommu_domain_array_phys: first domain array page (never 0).
 * @device_array_phys:       first device array page (never 0).
 */
struct iommu_flb_ser_b {
  uint64_t version;
  uint64_t iommu_array_phys;
  uint64_t iommu_domain_array_phys;
  uint64_t device_array_phys;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_flb_ser_b, 32);
KHOABI_ASSERT_OFFSET(struct iommu_flb_ser_b, version, 0);
KHOABI_ASSERT_OFFSET(struct iommu_flb_ser_b, iommu_array_phys, 8);
KHOABI_ASSERT_OFFSET(struct iommu_flb_ser_b, iommu_domain_array_phys, 16);
KHOABI_ASSERT_OFFSET(struct iommu_flb_ser_b, device_array_phys, 24);

/**
 * struct iommu_domain_ser_b - a preserved domain (ABI B).
 * @hdr:             object header.
 * @top_table_phys:  PA of the top page-table page (order 0), 0 for none.
 * @top_level:       page-table levels.
 * @vasz:            virtual address size in bits.
 * @sign_extend:     0 or 1.
 * @padding:         zero.
 * @restored_domain: written by the restoring kernel only; 0 in a handoff.
 */
struct iommu_domain_ser_b {
  struct iommu_hdr_ser hdr;
  uint64_t top_table_phys;
  uint64_t top_level;
  uint32_t vasz;
  uint8_t sign_extend;
  uint8_t padding[3];
  uint64_t restored_domain;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_domain_ser_b, 40);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_b, hdr, 0);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_b, top_table_phys, 8);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_b, top_level, 16);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_b, vasz, 24);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_b, sign_extend, 28);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_b, padding, 29);
KHOABI_ASSERT_OFFSET(struct iommu_domain_ser_b, restored_domain, 32);

/**
 * struct iommu_device_intel_ser_b - an Intel device's PASID state (ABI B).
 * @restored:    set by the restoring kernel only; 0 in a handoff.
 * @padding:     zero.
 * @pasid_table: PA of the PASID directory, 0 when none is handed over.
 * @max_pasid:   PASIDs the directory covers, 0 when none is handed over.
 */
struct iommu_device_intel_ser_b {
  uint8_t restored;
  uint8_t padding[7];
  uint64_t pasid_table;
  uint64_t max_pasid;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_device_intel_ser_b, 24);
KHOABI_ASSERT_OFFSET(struct iommu_device_intel_ser_b, restored, 0);
KHOABI_ASSERT_OFFSET(struct iommu_device_intel_ser_b, padding, 1);
KHOABI_ASSERT_OFFSET(struct iommu_device_intel_ser_b, pasid_table, 8);
KHOABI_ASSERT_OFFSET(struct iommu_device_intel_ser_b, max_pasid, 16);

/**
 * struct iommu_master_smmuv3_ser - an SMMUv3 device's state (ABI B).
 * @l1_cdtab_lu_state:       level-1 context-descriptor table state.
 * @num_l2_cdtables:         level-2 context-descriptor tables.
 * @padding:                 zero.
 * @l2_cdtab_lu_states_phys: PA of the level-2 table states.
 *
 * Recorded, not walked: SMMUv3 internals are out of khoabi's scope.
 */
struct iommu_master_smmuv3_ser {
  uint64_t l1_cdtab_lu_state;
  uint32_t num_l2_cdtables;
  uint32_t padding;
  uint64_t l2_cdtab_lu_states_phys;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_master_smmuv3_ser, 24);
KHOABI_ASSERT_OFFSET(struct iommu_master_smmuv3_ser, l1_cdtab_lu_state, 0);
KHOABI_ASSERT_OFFSET(struct iommu_master_smmuv3_ser, num_l2_cdtables, 8);
KHOABI_ASSERT_OFFSET(struct iommu_master_smmuv3_ser, padding, 12);
KHOABI_ASSERT_OFFSET(struct iommu_master_smmuv3_ser, l2_cdtab_lu_states_phys, 16);

/**
 * struct iommu_device_ser_b - a preserved device (ABI B).
 * @hdr:              object header.
 * @devid:            PCI requester id, bus << 8 | devfn (pci_dev_id()).
 * @pci_domain_nr:    PCI segment.
 * @dma_owner_token:  identifies the DMA owner (iommufd) across kexec.
 * @domain_iommu_ser: the device's attachment.
 * @intel:            PASID state, when the unit is Intel.
 * @smmuv3:           SMMUv3 state, when the unit is an SMMUv3.
 *
 * The union arm in use follows the type of the unit @domain_iommu_ser
 * .iommu_phys points at.
 */
struct iommu_device_ser_b {
  struct iommu_hdr_ser hdr;
  uint32_t devid;
  uint32_t pci_domain_nr;
  uint64_t dma_owner_token;
  struct iommu_dev_map_ser domain_iommu_ser;
  union {
    struct iommu_device_intel_ser_b intel;
    struct iommu_master_smmuv3_ser smmuv3;
  } KHOABI_PACKED;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_device_ser_b, 72);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_b, hdr, 0);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_b, devid, 8);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_b, pci_domain_nr, 12);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_b, dma_owner_token, 16);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_b, domain_iommu_ser, 24);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_b, intel, 48);
KHOABI_ASSERT_OFFSET(struct iommu_device_ser_b, smmuv3, 48);

/**
 * struct iommu_smmuv3_hw_ser - an SMMUv3 unit's state (ABI B).
 * @phys_addr:                MMIO register base (not memory).
 * @strtab_base_cfg:          stream table base configuration.
 * @l1_strtab_lu_state:       level-1 stream table state.
 * @l2_strtab_lu_states_phys: PA of the level-2 stream table states.
 *
 * Recorded, not walked: SMMUv3 internals are out of khoabi's scope.
 */
struct iommu_smmuv3_hw_ser {
  uint64_t phys_addr;
  uint64_t strtab_base_cfg;
  uint64_t l1_strtab_lu_state;
  uint64_t l2_strtab_lu_states_phys;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_smmuv3_hw_ser, 32);
KHOABI_ASSERT_OFFSET(struct iommu_smmuv3_hw_ser, phys_addr, 0);
KHOABI_ASSERT_OFFSET(struct iommu_smmuv3_hw_ser, strtab_base_cfg, 8);
KHOABI_ASSERT_OFFSET(struct iommu_smmuv3_hw_ser, l1_strtab_lu_state, 16);
KHOABI_ASSERT_OFFSET(struct iommu_smmuv3_hw_ser, l2_strtab_lu_states_phys, 24);

/**
 * struct iommu_hw_ser_b - a preserved IOMMU unit (ABI B).
 * @hdr:    object header.
 * @token:  identifies the unit across kexec (Intel: its register base).
 * @type:   IOMMU_SER_TYPE_INTEL or IOMMU_SER_TYPE_ARM_SMMUV3.
 * @intel:  unit state, when @type is INTEL.
 * @smmuv3: unit state, when @type is ARM_SMMUV3 (the rest of the 88-byte
 *          union is zero).
 */
struct iommu_hw_ser_b {
  struct iommu_hdr_ser hdr;
  uint64_t token;
  uint64_t type;
  union {
    struct iommu_intel_ser intel;
    struct iommu_smmuv3_hw_ser smmuv3;
  } KHOABI_PACKED;
} KHOABI_PACKED;
KHOABI_ASSERT_SIZE(struct iommu_hw_ser_b, 112);
KHOABI_ASSERT_OFFSET(struct iommu_hw_ser_b, hdr, 0);
KHOABI_ASSERT_OFFSET(struct iommu_hw_ser_b, token, 8);
KHOABI_ASSERT_OFFSET(struct iommu_hw_ser_b, type, 16);
KHOABI_ASSERT_OFFSET(struct iommu_hw_ser_b, intel, 24);
KHOABI_ASSERT_OFFSET(struct iommu_hw_ser_b, smmuv3, 24);

#define IOMMU_B_HW_PER_PAGE IOMMU_ARRAY_CAPACITY(sizeof(struct iommu_hw_ser_b))
#define IOMMU_B_DOMAINS_PER_PAGE IOMMU_ARRAY_CAPACITY(sizeof(struct iommu_domain_ser_b))
#define IOMMU_B_DEVICES_PER_PAGE IOMMU_ARRAY_CAPACITY(sizeof(struct iommu_device_ser_b))
KHOABI_STATIC_ASSERT(IOMMU_B_HW_PER_PAGE == 36, "ABI B units per page");
KHOABI_STATIC_ASSERT(IOMMU_B_DOMAINS_PER_PAGE == 102, "ABI B domains per page");
KHOABI_STATIC_ASSERT(IOMMU_B_DEVICES_PER_PAGE == 56, "ABI B devices per page");

#endif /* KHOABI_ABI_IOMMU_H_ */
