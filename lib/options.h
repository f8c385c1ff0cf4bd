// options.h: what a decode accepts and how much it may cost.
//
// Every limit has a default generous enough for any real machine (thousands of
// devices, full 2^20-PASID directories) and tight enough that no input costs
// more than linear time and memory. Hitting a limit is reported as its own
// reason (limit_*), with code kResourceExhausted.
#ifndef KHOABI_LIB_OPTIONS_H_
#define KHOABI_LIB_OPTIONS_H_

#include <cstddef>
#include <cstdint>

namespace khoabi {

// Which PASID entries a handoff may carry (spec/vtd-pasid.md).
enum class PasidPolicy : uint8_t {
  kAbiDefault = 0,   // A: kNoPasidOnly, B: kAllPresent
  kNoPasidOnly = 1,  // only IOMMU_NO_PASID: dir[0] and PASID 0 present, nothing else
  kAllPresent = 2,   // every present directory entry and PASID entry
};

struct Options {
  // --- What is accepted -----------------------------------------------------
  // Strict reasons (unused_bytes_not_zero, ...) reject when true, warn when false.
  bool strict = true;
  // IOMMU ABI versions accepted; an image in another is iommu_abi_not_accepted.
  bool accept_iommu_a = true;
  bool accept_iommu_b = true;
  // PASID policy the handoff must follow.
  PasidPolicy pasid_policy = PasidPolicy::kAbiDefault;
  // No IOMMU FLB entry is an error (flb_no_iommu_entry) when true.
  bool require_iommu = true;

  // --- Reporting -----------------------------------------------------------
  // Problems (errors and warnings) kept; further ones are only counted.
  size_t max_problems = 64;
  // Stop at the first error (fastest rejection, e.g. for fuzzing).
  bool stop_at_first_error = false;

  // --- Limits --------------------------------------------------------------
  uint64_t max_image_bytes = 16ull << 30;  // limit_image_size: 16 GiB of segments
  // limit_image_size: bytes an image file may declare beyond what it holds
  // (PT_LOAD p_memsz > p_filesz, zero-filled). Real dumps declare none; the
  // cap keeps a tiny file from costing gigabytes.
  uint64_t max_zero_fill_bytes = 64ull << 20;
  uint64_t max_folios = 1ull << 22;         // limit_folios: preserved folios (4 Mi)
  uint64_t max_tracker_pages = 1ull << 20;  // limit_tracker_pages: 4 GiB of tracker
  uint32_t max_fdt_depth = 8;               // limit_fdt_depth: node nesting per FDT
  uint64_t max_chain_pages = 1ull << 16;    // limit_chain_length: pages per IOMMU array list
  uint64_t max_objects = 1ull << 20;        // limit_objects: objects per IOMMU type
  uint64_t max_devices = 1ull << 16;        // limit_objects: live devices
  uint64_t max_pasid_tables = 1ull << 24;   // limit_pasid_tables: PASID tables in all
  // limit_work: work units (about one per 8-byte word examined, plus one per
  // folio). 0 means the default, WorkBudget(image bytes) below.
  uint64_t max_work = 0;
};

// The default work budget for an image of `image_bytes`: linear in its size.
// Every byte is examined a small constant number of times, and a bitmap bit
// becomes at most one folio, so 16 units per byte bound any input.
inline uint64_t WorkBudget(uint64_t image_bytes) { return 16 * image_bytes + (1ull << 20); }

}  // namespace khoabi

#endif  // KHOABI_LIB_OPTIONS_H_
