#include "lib/kho_tracker.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "abi/kexec_handover.h"
#include "absl/strings/str_format.h"
#include "lib/decode_scratch.h"
#include "lib/list_walk.h"

namespace khoabi {
namespace {

constexpr unsigned kLeafBits = KHO_RADIX_LEAF_BITS;    // 15
constexpr unsigned kTableBits = KHO_RADIX_TABLE_BITS;  // 9
constexpr unsigned kRootLevel = KHO_RADIX_TABLE_LEVELS;

// Key bits below the part a page of `level` is identified by.
unsigned PrefixShift(unsigned level) { return kLeafBits + kTableBits * level; }

bool PageAligned(uint64_t pa) { return (pa & (kPageSize - 1)) == 0; }

uint64_t LoadU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void StoreU64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, sizeof v); }

absl::Status CheckFolio(const Folio& f) {
  if (f.order > KHO_RADIX_MAX_ORDER || !FolioFits(f.pa, f.order) ||
      (f.pa & (FolioBytes(f.order) - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("folio of order %u at %#x is not aligned or does not fit", f.order, f.pa));
  }
  return absl::OkStatus();
}

// kho-v1: the bitmap entry a folio belongs to, as the kernel groups them:
// 32768 folios of one order per bitmap.
uint64_t V1PhysStart(const Folio& f) {
  const unsigned shift = f.order + kPageShift + kLeafBits;
  return shift >= 64 ? 0 : (f.pa >> shift) << shift;
}

// Size of a folio of a kho-v1 chunk's order (at most 52), in 128 bits: an
// order-52 folio is 2^64 bytes, which FolioBytes cannot return.
unsigned __int128 V1FolioSize(uint32_t order) {
  return static_cast<unsigned __int128>(1) << (order + kPageShift);
}

// Span of a kho-v1 bitmap in bytes, in 128 bits (it can reach 2^79).
unsigned __int128 V1Span(uint32_t order) {
  return static_cast<unsigned __int128>(KHO_V1_PRESERVE_BITS) << (order + kPageShift);
}

// Checks a tracker page PA; reports tracker_pa_invalid.
bool ValidTrackerPage(DecodeContext& ctx, uint64_t pa, const char* what) {
  if (pa == 0 || !PageAligned(pa) || !ctx.reader.Contains(pa, kPageSize)) {
    ctx.Report(Reason::kTrackerPaInvalid, pa, "%s page %s", what,
               pa == 0            ? "is 0"
               : !PageAligned(pa) ? "is not page aligned"
                                  : "is not in the image");
    return false;
  }
  return true;
}

bool AddFolio(DecodeContext& ctx, uint64_t pa, uint32_t order) {
  if (ctx.memory.size() >= ctx.options.max_folios) {
    ctx.Report(Reason::kLimitFolios, pa, "more than %llu preserved folios",
               static_cast<unsigned long long>(ctx.options.max_folios));
    return false;
  }
  ctx.memory.Add(pa, order);
  return ctx.Charge(1);
}

// --- kho-v2 ---------------------------------------------------------------

using Node = DecodeScratch::RadixNode;

bool DecodeRadix(uint64_t root_pa, DecodeContext& ctx, DecodeScratch& scratch, TrackerModel* out) {
  Path::Scope radix = ctx.path.Enter("radix");
  {
    Path::Scope s = ctx.path.Enter("root");
    if (!ValidTrackerPage(ctx, root_pa, "radix root")) return false;
  }
  std::vector<uint64_t>& visited = scratch.radix_visited;  // sorted
  std::vector<Node>& level_nodes = scratch.radix_level;
  std::vector<Node>& next = scratch.radix_next;
  visited.assign(1, root_pa);
  level_nodes.assign(1, Node{root_pa, 0});
  out->radix_pages.push_back({kRootLevel, 0, root_pa});
  bool ok = true;

  for (unsigned level = kRootLevel; level >= 1; --level) {
    Path::Scope lv = ctx.path.Enter("level", level);
    next.clear();
    for (const Node& node : level_nodes) {
      Path::Scope ns = ctx.path.Enter("table", node.prefix);
      absl::Span<const uint8_t> page = ctx.reader.Bytes(node.pa, kPageSize);
      if (!ctx.Charge(KHO_RADIX_TABLE_ENTRIES)) return false;
      for (unsigned i = 0; i < KHO_RADIX_TABLE_ENTRIES; ++i) {
        const uint64_t child = LoadU64(page.data() + 8 * i);
        if (child == 0) continue;
        Path::Scope es = ctx.path.Enter("entry", i);
        if (level == kRootLevel && i > KHO_RADIX_ROOT_MAX_INDEX) {
          ok = !ctx.Report(Reason::kTrackerBadKey, child,
                           "root index %u >= 4 would encode an order below 0", i) &&
               ok;
          if (ctx.stop()) return false;
          continue;
        }
        if (!ValidTrackerPage(ctx, child, level == 1 ? "leaf" : "table")) {
          ok = false;
          if (ctx.stop()) return false;
          continue;
        }
        next.push_back({child, (node.prefix << kTableBits) | i});
      }
    }
    // Each page once: no node shared by two parents, none reached again.
    // By PA, then key prefix, so that of two entries sharing a page the one
    // later in key order is reported, whatever the sort algorithm.
    std::sort(next.begin(), next.end(), [](const Node& a, const Node& b) {
      return a.pa != b.pa ? a.pa < b.pa : a.prefix < b.prefix;
    });
    size_t kept = 0;
    for (size_t i = 0; i < next.size(); ++i) {
      const bool dup_here = kept > 0 && next[kept - 1].pa == next[i].pa;
      const bool dup_before = std::binary_search(visited.begin(), visited.end(), next[i].pa);
      if (dup_here || dup_before) {
        // Reported at the parent's entry that points here, as a bad PA is.
        Path::Scope t = ctx.path.Enter("table", next[i].prefix >> kTableBits);
        Path::Scope e = ctx.path.Enter("entry", next[i].prefix & (KHO_RADIX_TABLE_ENTRIES - 1));
        ok = !ctx.Report(Reason::kTrackerPageReused, next[i].pa,
                         "tracker page reached a second time") &&
             ok;
        if (ctx.stop()) return false;
        continue;
      }
      next[kept++] = next[i];
    }
    next.resize(kept);
    if (visited.size() + next.size() > ctx.options.max_tracker_pages) {
      ctx.Report(Reason::kLimitTrackerPages, root_pa, "more than %llu tracker pages",
                 static_cast<unsigned long long>(ctx.options.max_tracker_pages));
      return false;
    }
    // visited += next's PAs (sorted too), merged in place from the back:
    // std::inplace_merge would allocate a buffer on every call.
    size_t v = visited.size(), n = next.size();
    visited.resize(v + n);
    for (size_t k = v + n; n > 0;) {
      visited[--k] = v > 0 && visited[v - 1] > next[n - 1].pa ? visited[--v] : next[--n].pa;
    }
    for (const Node& node : next) out->radix_pages.push_back({level - 1, node.prefix, node.pa});
    // A copy, not a swap: each vector keeps the capacity of its own role,
    // so that decoding the same tracker again allocates nothing.
    level_nodes.assign(next.begin(), next.end());
  }

  // Leaves: every set bit is one folio.
  for (const Node& leaf : level_nodes) {
    Path::Scope ls = ctx.path.Enter("leaf", leaf.prefix);
    absl::Span<const uint8_t> page = ctx.reader.Bytes(leaf.pa, kPageSize);
    if (!ctx.Charge(KHO_RADIX_LEAF_ENTRIES / 64)) return false;
    for (unsigned w = 0; w < KHO_RADIX_LEAF_ENTRIES / 64; ++w) {
      uint64_t word = LoadU64(page.data() + 8 * w);
      while (word != 0) {
        const unsigned bit = static_cast<unsigned>(__builtin_ctzll(word));
        word &= word - 1;
        const uint64_t key = (leaf.prefix << kLeafBits) | (uint64_t{w} * 64 + bit);
        const int order = kho_radix_key_order(key);
        if (order < 0) {
          Path::Scope bs = ctx.path.Enter("bit", w * 64 + bit);
          ok = !ctx.Report(Reason::kTrackerBadKey, kNoPa, "key %#llx encodes no order",
                           static_cast<unsigned long long>(key)) &&
               ok;
          if (ctx.stop()) return false;
          continue;
        }
        const uint64_t pa = kho_radix_key_pa(key, order);
        if (!FolioFits(pa, static_cast<uint32_t>(order))) {
          Path::Scope bs = ctx.path.Enter("bit", w * 64 + bit);
          ok = !ctx.Report(Reason::kTrackerRangeOverflow, pa, "order-%d folio ends beyond 2^64",
                           order) &&
               ok;
          if (ctx.stop()) return false;
          continue;
        }
        if (!AddFolio(ctx, pa, static_cast<uint32_t>(order))) return false;
      }
    }
  }
  std::sort(out->radix_pages.begin(), out->radix_pages.end(),
            [](const RadixPage& a, const RadixPage& b) {
              return a.level != b.level ? a.level > b.level : a.prefix < b.prefix;
            });
  return ok;
}

// --- kho-v1 ---------------------------------------------------------------

// Next chunk of the chunk at `pa`, or 0 when `pa` cannot be read (the walk
// reports why).
uint64_t NextChunk(const ImageReader& reader, uint64_t pa) {
  uint64_t next = 0;
  if (pa == 0 || !PageAligned(pa) || !reader.Contains(pa, kPageSize)) return 0;
  reader.ReadU64(pa, &next);
  return next;
}

bool DecodeChunks(uint64_t root_pa, DecodeContext& ctx, DecodeScratch& scratch, TrackerModel* out) {
  Path::Scope list = ctx.path.Enter("chunks");
  if (root_pa == 0) return true;  // kho-v1 treats 0 as an empty map
  const uint64_t distinct = NodesBeforeRepeat(
      root_pa, [&ctx](uint64_t pa) { return NextChunk(ctx.reader, pa); },
      [&ctx](uint64_t units) { return ctx.Charge(units); });
  if (ctx.work.exceeded()) return false;
  // Every chunk and bitmap page with where it was met: slot 0 is the chunk
  // page itself, slot j + 1 the bitmap of entry j.
  using PageUse = DecodeScratch::TrackerPageUse;
  std::vector<PageUse>& pages = scratch.tracker_pages;
  pages.clear();
  // The range of every bitmap, to find two of one order that overlap.
  using BitmapRange = DecodeScratch::BitmapRange;
  std::vector<BitmapRange>& ranges = scratch.bitmap_ranges;
  ranges.clear();
  bool ok = true;
  uint64_t pa = root_pa;
  for (uint64_t index = 0; pa != 0; ++index) {
    Path::Scope cs = ctx.path.Enter("chunk", index);
    if (index == distinct) {
      ctx.Report(Reason::kTrackerPageReused, pa, "the chunk list returns to this chunk");
      ok = false;
      break;
    }
    if (!ValidTrackerPage(ctx, pa, "chunk")) return false;
    if (pages.size() >= ctx.options.max_tracker_pages) {
      ctx.Report(Reason::kLimitTrackerPages, pa, "more than %llu tracker pages",
                 static_cast<unsigned long long>(ctx.options.max_tracker_pages));
      return false;
    }
    pages.push_back({pa, index, 0});
    if (!ctx.Charge(KHOABI_PAGE_SIZE / 8)) return false;
    khoser_mem_chunk_hdr hdr;
    ctx.reader.ReadObject(pa, &hdr);
    // Built in place: an early return keeps the entries' pooled storage in
    // the model, where the next decode takes it back (decoder.cc).
    TrackerChunk& chunk = out->chunks.emplace_back();
    chunk.pa = pa;
    chunk.order = hdr.order;
    if (hdr.order > KHO_RADIX_MAX_ORDER) {
      Path::Scope s = ctx.path.Enter("order");
      ok = !ctx.Report(Reason::kTrackerBadOrder, pa, "order %u > %u", hdr.order,
                       KHO_RADIX_MAX_ORDER) &&
           ok;
    } else if (hdr.num_elms > KHOSER_BITMAP_SIZE) {
      Path::Scope s = ctx.path.Enter("num_elms");
      ok = !ctx.Report(Reason::kTrackerTooManyEntries, pa, "%u entries > %u", hdr.num_elms,
                       static_cast<unsigned>(KHOSER_BITMAP_SIZE)) &&
           ok;
    } else {
      // The rest of the chunk page is zero: the kernel allocates chunks
      // zeroed, and stale entries past num_elms are what a later version
      // would misread.
      const uint64_t used = sizeof hdr + uint64_t{hdr.num_elms} * sizeof(khoser_mem_bitmap_ptr);
      absl::Span<const uint8_t> page = ctx.reader.Bytes(pa, kPageSize);
      const uint64_t at = used + FirstNonZero(page.subspan(static_cast<size_t>(used)));
      if (at < kPageSize) {
        Path::Scope u = ctx.path.Enter("unused");
        ok = !ctx.Report(Reason::kUnusedBytesNotZero, pa + at,
                         "byte %llu after the last entry is %#x",
                         static_cast<unsigned long long>(at), page[static_cast<size_t>(at)]) &&
             ok;
        if (ctx.stop()) return false;
      }
      const unsigned __int128 folio_bytes = V1FolioSize(hdr.order);
      for (uint32_t j = 0; j < hdr.num_elms; ++j) {
        Path::Scope es = ctx.path.Enter("entry", j);
        khoser_mem_bitmap_ptr entry;
        ctx.reader.ReadObject(pa + sizeof hdr + j * sizeof entry, &entry);
        scratch.chunk_entries.TakeInto(chunk.entries);
        chunk.entries.push_back({entry.phys_start, entry.bitmap});
        if (entry.phys_start % folio_bytes != 0) {
          ok = !ctx.Report(Reason::kTrackerUnalignedStart, entry.phys_start,
                           "not aligned to the order-%u folio size", hdr.order) &&
               ok;
          if (ctx.stop()) return false;
          continue;
        }
        ranges.push_back({hdr.order, entry.phys_start, index, j});
        {
          Path::Scope bs = ctx.path.Enter("bitmap");
          if (!ValidTrackerPage(ctx, entry.bitmap, "bitmap")) {
            ok = false;
            if (ctx.stop()) return false;
            continue;
          }
        }
        if (pages.size() >= ctx.options.max_tracker_pages) {
          ctx.Report(Reason::kLimitTrackerPages, entry.bitmap, "more than %llu tracker pages",
                     static_cast<unsigned long long>(ctx.options.max_tracker_pages));
          return false;
        }
        pages.push_back({entry.bitmap, index, uint64_t{j} + 1});
        absl::Span<const uint8_t> bits = ctx.reader.Bytes(entry.bitmap, kPageSize);
        if (!ctx.Charge(KHOABI_PAGE_SIZE / 8)) return false;
        bool overflow_reported = false;
        for (unsigned w = 0; w < KHOABI_PAGE_SIZE / 8; ++w) {
          uint64_t word = LoadU64(bits.data() + 8 * w);
          while (word != 0) {
            const unsigned b = w * 64 + static_cast<unsigned>(__builtin_ctzll(word));
            word &= word - 1;
            const unsigned __int128 folio_pa =
                static_cast<unsigned __int128>(entry.phys_start) +
                (static_cast<unsigned __int128>(b) << (hdr.order + kPageShift));
            // folio_bytes is in 128 bits: an order-52 folio is 2^64 bytes.
            if (folio_pa + folio_bytes > (static_cast<unsigned __int128>(1) << 64)) {
              if (!overflow_reported) {
                Path::Scope bit = ctx.path.Enter("bit", b);
                ok = !ctx.Report(Reason::kTrackerRangeOverflow, entry.phys_start,
                                 "bit %u: order-%u folio ends beyond 2^64", b, hdr.order) &&
                     ok;
                overflow_reported = true;
                if (ctx.stop()) return false;
              }
              continue;
            }
            if (!AddFolio(ctx, static_cast<uint64_t>(folio_pa), hdr.order)) return false;
          }
        }
      }
    }
    if (ctx.stop()) return false;
    pa = hdr.next;
  }
  // The ranges the bitmaps of one order describe do not overlap (the kernel
  // keeps one bitmap per range). Bits of two overlapping bitmaps could all be
  // different folios, but which bitmap held which is lost: the decoded
  // handoff could not be written again.
  // Reported at the entry whose range starts later (walk order breaks ties).
  // Walk order is usually sorted already: check before sorting (the fuzz
  // targets run this on every input).
  auto range_less = [](const BitmapRange& a, const BitmapRange& b) {
    return std::tie(a.order, a.start, a.chunk, a.entry) <
           std::tie(b.order, b.start, b.chunk, b.entry);
  };
  if (!std::is_sorted(ranges.begin(), ranges.end(), range_less)) {
    std::sort(ranges.begin(), ranges.end(), range_less);
  }
  for (size_t i = 1; i < ranges.size(); ++i) {
    const BitmapRange& r = ranges[i];
    const BitmapRange& prev = ranges[i - 1];
    if (r.order != prev.order ||
        static_cast<unsigned __int128>(r.start) >= prev.start + V1Span(prev.order)) {
      continue;
    }
    ctx.path.Push("chunk", r.chunk);
    ctx.path.Push("entry", r.entry);
    ok = !ctx.Report(Reason::kTrackerOverlap, r.start,
                     "the order-%u bitmaps at %#llx and %#llx cover overlapping ranges", r.order,
                     static_cast<unsigned long long>(prev.start),
                     static_cast<unsigned long long>(r.start)) &&
         ok;
    ctx.path.Pop();
    ctx.path.Pop();
    if (ctx.stop()) return false;
  }
  // Chunk and bitmap pages: each used once. A reuse is reported where the
  // page is met again in walk order: the chunk, or the entry's bitmap.
  auto page_less = [](const PageUse& a, const PageUse& b) {
    return std::tie(a.pa, a.chunk, a.slot) < std::tie(b.pa, b.chunk, b.slot);
  };
  if (!std::is_sorted(pages.begin(), pages.end(), page_less)) {
    std::sort(pages.begin(), pages.end(), page_less);
  }
  for (size_t i = 1; i < pages.size(); ++i) {
    const PageUse& u = pages[i];
    if (u.pa != pages[i - 1].pa) continue;
    ctx.path.Push("chunk", u.chunk);
    if (u.slot != 0) {
      ctx.path.Push("entry", u.slot - 1);
      ctx.path.Push("bitmap", Path::kNoIndex);
    }
    ok =
        !ctx.Report(Reason::kTrackerPageReused, u.pa, "page used twice as a chunk or bitmap") && ok;
    if (u.slot != 0) {
      ctx.path.Pop();
      ctx.path.Pop();
    }
    ctx.path.Pop();
    if (ctx.stop()) return false;
  }
  return ok;
}

}  // namespace

absl::string_view KhoVersionName(KhoVersion v) {
  return v == KhoVersion::kV1 ? KHO_V1_FDT_COMPATIBLE : KHO_V2_FDT_COMPATIBLE;
}

uint64_t TrackerModel::root_pa() const {
  if (format == KhoVersion::kV2) {
    for (const RadixPage& p : radix_pages) {
      if (p.level == kRootLevel) return p.pa;
    }
    return 0;
  }
  return chunks.empty() ? 0 : chunks.front().pa;
}

uint64_t TrackerModel::page_count() const {
  if (format == KhoVersion::kV2) return radix_pages.size();
  uint64_t n = 0;
  for (const TrackerChunk& c : chunks) n += 1 + c.entries.size();
  return n;
}

std::vector<uint64_t> TrackerModel::page_pas() const {
  std::vector<uint64_t> out;
  out.reserve(page_count());
  for (const RadixPage& p : radix_pages) out.push_back(p.pa);
  for (const TrackerChunk& c : chunks) {
    out.push_back(c.pa);
    for (const TrackerChunk::Entry& e : c.entries) out.push_back(e.bitmap_pa);
  }
  return out;
}

uint64_t TrackerModel::top_of_memory() const {
  uint64_t top = 0;
  for (const Folio& f : folios) {
    if (f.order <= 30) top = std::max(top, f.pa + FolioBytes(f.order));
  }
  for (uint64_t pa : page_pas()) top = std::max(top, pa + kPageSize);
  return top;
}

absl::StatusOr<TrackerModel> PlanTracker(KhoVersion format, std::vector<Folio> folios,
                                         PageAllocator& allocator) {
  TrackerModel m;
  m.format = format;
  std::sort(folios.begin(), folios.end());
  for (const Folio& f : folios) {
    if (absl::Status s = CheckFolio(f); !s.ok()) return s;
  }
  m.folios = std::move(folios);

  if (format == KhoVersion::kV2) {
    std::set<std::pair<uint32_t, uint64_t>, std::greater<>> nodes;  // (level, prefix)
    nodes.insert({kRootLevel, 0});
    for (const Folio& f : m.folios) {
      const uint64_t key = kho_radix_key(f.pa, f.order);
      for (unsigned level = 0; level < kRootLevel; ++level) {
        nodes.insert({level, key >> PrefixShift(level)});
      }
    }
    // Level descending, then prefix ascending.
    std::vector<std::pair<uint32_t, uint64_t>> ordered(nodes.begin(), nodes.end());
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (const auto& [level, prefix] : ordered) {
      absl::StatusOr<uint64_t> pa = allocator.Alloc(0);
      if (!pa.ok()) return pa.status();
      m.radix_pages.push_back({level, prefix, *pa});
    }
    return m;
  }

  // kho-v1: orders ascending; per order, bitmaps by phys_start; 255 per chunk.
  std::map<uint32_t, std::set<uint64_t>> starts;
  for (const Folio& f : m.folios) starts[f.order].insert(V1PhysStart(f));
  for (const auto& [order, phys_starts] : starts) {
    std::vector<uint64_t> list(phys_starts.begin(), phys_starts.end());
    for (size_t i = 0; i < list.size(); i += KHOSER_BITMAP_SIZE) {
      TrackerChunk chunk;
      chunk.order = order;
      absl::StatusOr<uint64_t> pa = allocator.Alloc(0);
      if (!pa.ok()) return pa.status();
      chunk.pa = *pa;
      for (size_t j = i; j < std::min(list.size(), i + KHOSER_BITMAP_SIZE); ++j) {
        absl::StatusOr<uint64_t> bitmap = allocator.Alloc(0);
        if (!bitmap.ok()) return bitmap.status();
        chunk.entries.push_back({list[j], *bitmap});
      }
      m.chunks.push_back(std::move(chunk));
    }
  }
  return m;
}

absl::Status EncodeTracker(const TrackerModel& m, ImageBuilder& builder) {
  for (const Folio& f : m.folios) {
    if (absl::Status s = CheckFolio(f); !s.ok()) return s;
  }
  if (m.format == KhoVersion::kV2) {
    std::map<std::pair<uint32_t, uint64_t>, std::vector<uint8_t>> pages;
    std::map<std::pair<uint32_t, uint64_t>, uint64_t> where;
    for (const RadixPage& p : m.radix_pages) {
      pages[{p.level, p.prefix}].assign(kPageSize, 0);
      where[{p.level, p.prefix}] = p.pa;
    }
    // Table entries: one per child page that exists.
    for (const RadixPage& p : m.radix_pages) {
      if (p.level == kRootLevel) continue;
      auto parent = pages.find({p.level + 1, p.prefix >> kTableBits});
      if (parent == pages.end()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("radix page (level %u, prefix %#x) has no parent", p.level, p.prefix));
      }
      StoreU64(parent->second.data() + 8 * (p.prefix & (KHO_RADIX_TABLE_ENTRIES - 1)), p.pa);
    }
    // Leaf bits: one per folio.
    for (const Folio& f : m.folios) {
      const uint64_t key = kho_radix_key(f.pa, f.order);
      auto leaf = pages.find({0, key >> kLeafBits});
      if (leaf == pages.end()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("no radix leaf for the order-%u folio at %#x", f.order, f.pa));
      }
      const unsigned bit = kho_radix_leaf_index(key);
      leaf->second[bit / 8] = static_cast<uint8_t>(leaf->second[bit / 8] | (1u << (bit % 8)));
    }
    for (auto& [id, bytes] : pages) {
      if (absl::Status s = builder.Put(where[id], std::move(bytes)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  std::vector<bool> covered(m.folios.size(), false);
  // Folios of each order, by PA (m.folios is sorted by PA): an entry looks
  // only at folios of its chunk's order within its span.
  std::map<uint32_t, std::vector<size_t>> by_order;
  for (size_t i = 0; i < m.folios.size(); ++i) by_order[m.folios[i].order].push_back(i);
  for (size_t i = 0; i < m.chunks.size(); ++i) {
    const TrackerChunk& c = m.chunks[i];
    if (c.entries.size() > KHOSER_BITMAP_SIZE || c.order > KHO_RADIX_MAX_ORDER) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "chunk at %#x: %u entries of order %u do not fit", c.pa, c.entries.size(), c.order));
    }
    std::vector<uint8_t> page(kPageSize, 0);
    khoser_mem_chunk_hdr hdr{};
    hdr.next = i + 1 < m.chunks.size() ? m.chunks[i + 1].pa : 0;
    hdr.order = c.order;
    hdr.num_elms = static_cast<uint32_t>(c.entries.size());
    std::memcpy(page.data(), &hdr, sizeof hdr);
    for (size_t j = 0; j < c.entries.size(); ++j) {
      khoser_mem_bitmap_ptr e{c.entries[j].phys_start, c.entries[j].bitmap_pa};
      std::memcpy(page.data() + sizeof hdr + j * sizeof e, &e, sizeof e);
      std::vector<uint8_t> bitmap(kPageSize, 0);
      const unsigned __int128 begin = c.entries[j].phys_start;
      const unsigned __int128 end = begin + V1Span(c.order);
      const std::vector<size_t>& same_order = by_order[c.order];
      auto first =
          std::lower_bound(same_order.begin(), same_order.end(), c.entries[j].phys_start,
                           [&m](size_t index, uint64_t pa) { return m.folios[index].pa < pa; });
      for (auto idx = first; idx != same_order.end() && m.folios[*idx].pa < end; ++idx) {
        const size_t index = *idx;
        const Folio* it = &m.folios[index];
        if (covered[index] || it->pa < begin ||
            (it->pa - c.entries[j].phys_start) % V1FolioSize(c.order) != 0) {
          continue;
        }
        // In 128 bits: order 52 shifts by 64.
        const uint64_t bit = static_cast<uint64_t>(
            static_cast<unsigned __int128>(it->pa - c.entries[j].phys_start) >>
            (c.order + kPageShift));
        bitmap[bit / 8] = static_cast<uint8_t>(bitmap[bit / 8] | (1u << (bit % 8)));
        covered[index] = true;
      }
      if (absl::Status s = builder.Put(c.entries[j].bitmap_pa, std::move(bitmap)); !s.ok()) {
        return s;
      }
    }
    if (absl::Status s = builder.Put(c.pa, std::move(page)); !s.ok()) return s;
  }
  for (size_t i = 0; i < m.folios.size(); ++i) {
    if (!covered[i]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "no kho-v1 bitmap covers the order-%u folio at %#x", m.folios[i].order, m.folios[i].pa));
    }
  }
  return absl::OkStatus();
}

bool DecodeTracker(KhoVersion format, uint64_t root_pa, DecodeContext& ctx, TrackerModel* out) {
  Path::Scope s = ctx.path.Enter("tracker");
  DecodeScratch own;
  DecodeScratch& scratch = ScratchFor(ctx, own);
  out->format = format;
  out->folios.clear();
  out->radix_pages.clear();
  // Last first: chunks taking storage again in list order get their own.
  for (auto it = out->chunks.rbegin(); it != out->chunks.rend(); ++it) {
    scratch.chunk_entries.Give(std::move(it->entries));
  }
  out->chunks.clear();
  const size_t first = ctx.memory.size();
  bool ok = format == KhoVersion::kV2 ? DecodeRadix(root_pa, ctx, scratch, out)
                                      : DecodeChunks(root_pa, ctx, scratch, out);
  for (size_t i = first; i < ctx.memory.size(); ++i) {
    // Not finalized yet: entries are in walk order.
    out->folios.push_back({ctx.memory.entries()[i].pa, ctx.memory.entries()[i].order});
  }
  if (!std::is_sorted(out->folios.begin(), out->folios.end())) {
    std::sort(out->folios.begin(), out->folios.end());
  }
  return ok;
}

}  // namespace khoabi
