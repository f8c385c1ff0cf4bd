#include "lib/preserved_memory.h"

#include <algorithm>

namespace khoabi {

bool FolioFits(uint64_t pa, uint32_t order) {
  if (order > 52) return false;
  const unsigned __int128 end =
      static_cast<unsigned __int128>(pa) + (static_cast<unsigned __int128>(1) << (order + 12));
  return end <= (static_cast<unsigned __int128>(1) << 64);
}

namespace {
// Exclusive end, saturated at 2^64 - 1 (REQUIRES: FolioFits).
uint64_t LastByte(uint64_t pa, uint32_t order) { return pa + (FolioBytes(order) - 1); }
}  // namespace

bool PreservedMemory::Finalize(const ImageReader& reader, Path& path, Diagnostics& diag) {
  auto less = [](const Entry& a, const Entry& b) {
    return a.pa != b.pa ? a.pa < b.pa : a.order < b.order;
  };
  // Trackers often list folios in PA order already.
  if (!std::is_sorted(entries_.begin(), entries_.end(), less)) {
    std::sort(entries_.begin(), entries_.end(), less);
  }
  bool ok = true;
  Path::Scope s = path.Enter("preserved");
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    e.in_image = reader.Contains(e.pa, FolioBytes(e.order));
    if (i > 0) {
      const Entry& p = entries_[i - 1];
      if (e.pa <= LastByte(p.pa, p.order)) {
        Path::Scope f = path.Enter("folio", i);
        ok = !diag.Report(Reason::kTrackerOverlap, path, e.pa,
                          "order-%u folio overlaps the order-%u folio at %#llx", e.order, p.order,
                          static_cast<unsigned long long>(p.pa)) &&
             ok;
        if (diag.ShouldStop()) return false;
      }
    }
    if (!e.in_image) {
      Path::Scope f = path.Enter("folio", i);
      diag.Report(Reason::kFolioOutsideImage, path, e.pa, "order %u", e.order);
    }
  }
  finalized_ = true;
  return ok;
}

PreservedMemory::Entry* PreservedMemory::MutableCovering(uint64_t pa) {
  // Last folio starting at or below pa: the one after the last found if it
  // is, else by binary search.
  size_t i = next_;
  if (!(i < entries_.size() && entries_[i].pa <= pa &&
        (i + 1 == entries_.size() || pa < entries_[i + 1].pa))) {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), pa,
                               [](uint64_t p, const Entry& e) { return p < e.pa; });
    if (it == entries_.begin()) return nullptr;
    i = static_cast<size_t>(it - entries_.begin()) - 1;
  }
  next_ = i + 1;
  Entry& e = entries_[i];
  if (pa > LastByte(e.pa, e.order)) return nullptr;
  return &e;
}

const PreservedMemory::Entry* PreservedMemory::Covering(uint64_t pa) const {
  return const_cast<PreservedMemory*>(this)->MutableCovering(pa);
}

const PreservedMemory::Entry* PreservedMemory::Find(uint64_t pa) const {
  const Entry* e = Covering(pa);
  return e != nullptr && e->pa == pa ? e : nullptr;
}

bool PreservedMemory::Claim(uint64_t pa, uint32_t order, const Path& path, Diagnostics& diag,
                            Reason wrong_order) {
  Entry* e = MutableCovering(pa);
  if (e == nullptr) {
    diag.Report(Reason::kClaimNotPreserved, path, pa, "no preserved folio here");
    return false;
  }
  if (e->pa != pa) {
    diag.Report(Reason::kClaimNotPreserved, path, pa, "inside the order-%u folio at %#llx",
                e->order, static_cast<unsigned long long>(e->pa));
    return false;
  }
  if (e->claimed) {
    diag.Report(Reason::kClaimTwice, path, pa, "order-%u folio already restored", e->order);
    return false;
  }
  e->claimed = true;
  if (e->order != order) {
    diag.Report(wrong_order, path, pa, "folio of order %u, need order %u", e->order, order);
    return false;
  }
  if (!e->in_image) {
    diag.Report(Reason::kClaimOutsideImage, path, pa, "order-%u folio not in the image", order);
    return false;
  }
  return true;
}

void PreservedMemory::ReportUnclaimed(Path& path, Diagnostics& diag) const {
  Path::Scope s = path.Enter("preserved");
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].claimed) continue;
    Path::Scope f = path.Enter("folio", i);
    diag.Report(Reason::kUnclaimedFolio, path, entries_[i].pa, "order %u", entries_[i].order);
  }
}

}  // namespace khoabi
