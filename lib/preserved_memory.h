// preserved_memory.h: the folios a handoff preserves, and their claims.
//
// The tracker (kho_tracker.h) says which folios were preserved and with which
// order. Records then *claim* folios the way a restoring kernel calls
// kho_restore_folio(): a claim succeeds only at the start of a preserved
// folio, yields its order (the caller states the order it needs), and can
// happen once. After a decode, folios nothing claimed are the ones the new
// kernel would leak.
#ifndef KHOABI_LIB_PRESERVED_MEMORY_H_
#define KHOABI_LIB_PRESERVED_MEMORY_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "lib/diagnostics.h"
#include "lib/image.h"

namespace khoabi {

struct Folio {
  uint64_t pa = 0;
  uint32_t order = 0;

  friend bool operator==(const Folio& a, const Folio& b) {
    return a.pa == b.pa && a.order == b.order;
  }
  friend bool operator<(const Folio& a, const Folio& b) {
    return a.pa != b.pa ? a.pa < b.pa : a.order < b.order;
  }
};

// FolioFits: the folio of `order` at `pa` ends at or below 2^64 and its
// size fits the arithmetic (order <= 52).
bool FolioFits(uint64_t pa, uint32_t order);

class PreservedMemory {
 public:
  struct Entry {
    uint64_t pa;
    uint32_t order;
    bool in_image;  // all of its bytes are in the image
    bool claimed;
  };

  // Clear forgets everything; keeps the storage.
  void Clear() {
    entries_.clear();
    finalized_ = false;
    next_ = 0;
  }
  void Reserve(size_t n) { entries_.reserve(n); }

  // Add records a preserved folio (before Finalize).
  void Add(uint64_t pa, uint32_t order) { entries_.push_back({pa, order, false, false}); }
  size_t size() const { return entries_.size(); }
  // finalized: Finalize ran; claims are only meaningful after it.
  bool finalized() const { return finalized_; }

  // Finalize sorts the folios, reports overlaps (tracker_overlap) and folios
  // whose bytes are not in the image (folio_outside_image, a warning).
  // Returns false if an error was reported.
  bool Finalize(const ImageReader& reader, Path& path, Diagnostics& diag);

  // Claim restores the folio at `pa`, which must be preserved with `order`.
  // Reports claim_not_preserved, claim_twice, claim_outside_image, or
  // `wrong_order` (default claim_wrong_order) at `path`. A claim with the
  // wrong order still consumes the folio, as in the kernel. Returns true if
  // the folio is the caller's to use.
  bool Claim(uint64_t pa, uint32_t order, const Path& path, Diagnostics& diag,
             Reason wrong_order = Reason::kClaimWrongOrder);

  // Find returns the folio starting at `pa`; Covering the one containing it.
  const Entry* Find(uint64_t pa) const;
  const Entry* Covering(uint64_t pa) const;

  absl::Span<const Entry> entries() const { return entries_; }

  // ReportUnclaimed warns (unclaimed_folio) about every folio nothing claimed.
  void ReportUnclaimed(Path& path, Diagnostics& diag) const;

 private:
  Entry* MutableCovering(uint64_t pa);
  std::vector<Entry> entries_;
  bool finalized_ = false;
  // The folio after the last one found: records claim memory mostly in
  // address order (a directory's tables, an array list), so it is tried
  // before a binary search.
  mutable size_t next_ = 0;
};

}  // namespace khoabi

#endif  // KHOABI_LIB_PRESERVED_MEMORY_H_
