// kho_tracker.h: the preserved-memory tracker, kho-v2 radix tree and kho-v1
// bitmap chunks (spec/handoff.md), encoder and decoder side by side.
//
// The model lists the preserved folios and where the tracker's own pages are
// (tracker pages are metadata, never restorable folios), so an image can be
// rebuilt from a decoded model exactly.
#ifndef KHOABI_LIB_KHO_TRACKER_H_
#define KHOABI_LIB_KHO_TRACKER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/decode_context.h"
#include "lib/image.h"
#include "lib/page_allocator.h"
#include "lib/preserved_memory.h"

namespace khoabi {

enum class KhoVersion : uint8_t { kV1 = 1, kV2 = 2 };

absl::string_view KhoVersionName(KhoVersion v);  // "kho-v1", "kho-v2"

// A kho-v2 tracker page. Tables have level 5 (the root) to 1, leaves level 0.
// `prefix` is the part of the key above the bits the page indexes:
// key >> (15 + 9 * level); the root's is 0, a leaf's is key >> 15.
struct RadixPage {
  uint32_t level = 0;
  uint64_t prefix = 0;
  uint64_t pa = 0;

  friend bool operator==(const RadixPage& a, const RadixPage& b) {
    return a.level == b.level && a.prefix == b.prefix && a.pa == b.pa;
  }
};

// A kho-v1 chunk: its page and entries (bitmap pages), in list order.
struct TrackerChunk {
  struct Entry {
    uint64_t phys_start = 0;
    uint64_t bitmap_pa = 0;
    friend bool operator==(const Entry& a, const Entry& b) {
      return a.phys_start == b.phys_start && a.bitmap_pa == b.bitmap_pa;
    }
  };
  uint64_t pa = 0;
  uint32_t order = 0;
  std::vector<Entry> entries;

  friend bool operator==(const TrackerChunk& a, const TrackerChunk& b) {
    return a.pa == b.pa && a.order == b.order && a.entries == b.entries;
  }
};

struct TrackerModel {
  KhoVersion format = KhoVersion::kV2;
  std::vector<Folio> folios;           // sorted by (pa, order)
  std::vector<RadixPage> radix_pages;  // kho-v2: sorted by (level desc, prefix)
  std::vector<TrackerChunk> chunks;    // kho-v1: in list order

  // The PA "preserved-memory-map" holds: the radix root, or the first chunk
  // (0 for an empty kho-v1 list).
  uint64_t root_pa() const;
  uint64_t page_count() const;
  // The PA of every tracker page, in walk order: radix pages, or each chunk
  // followed by its bitmaps.
  std::vector<uint64_t> page_pas() const;
  // One past the highest byte the tracker describes or occupies: its pages
  // and its preserved folios up to order 30 (a larger folio is address space,
  // not memory an encoder places pages above).
  uint64_t top_of_memory() const;

  friend bool operator==(const TrackerModel& a, const TrackerModel& b) {
    return a.format == b.format && a.folios == b.folios && a.radix_pages == b.radix_pages &&
           a.chunks == b.chunks;
  }
};

// PlanTracker lays the tracker out as the kernel does for `folios` and
// allocates its pages from `allocator`.
absl::StatusOr<TrackerModel> PlanTracker(KhoVersion format, std::vector<Folio> folios,
                                         PageAllocator& allocator);

// EncodeTracker writes the tracker pages of `model` into `builder`.
// kInvalidArgument if a folio has no page to go in.
absl::Status EncodeTracker(const TrackerModel& model, ImageBuilder& builder);

// DecodeTracker walks the tracker at `root_pa`: every tracker page must be
// whole, in the image and reached once; every key valid; every folio within
// the address space. kho-v1 chunks also: order <= 52, at most 255 entries,
// zeros after the last entry, phys_start aligned to the folio size, and no
// two bitmaps of one order covering overlapping ranges. Folios go to
// ctx.memory (not yet finalized) and the layout to `out` (on an early return,
// what was read so far). Returns false if an error was reported.
bool DecodeTracker(KhoVersion format, uint64_t root_pa, DecodeContext& ctx, TrackerModel* out);

}  // namespace khoabi

#endif  // KHOABI_LIB_KHO_TRACKER_H_
