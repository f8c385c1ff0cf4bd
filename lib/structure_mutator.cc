#include "lib/structure_mutator.h"

#include <elf.h>
#include <libfdt.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "abi/iommu.h"
#include "abi/kexec_handover.h"
#include "abi/luo.h"
#include "abi/vtd_pasid.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "lib/iommu.h"
#include "lib/kho_tracker.h"
#include "lib/page_allocator.h"

// libFuzzer's byte-level mutator, when libFuzzer is linked.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size)
    __attribute__((weak));

namespace khoabi::fuzz {
namespace {

using Rng = std::mt19937_64;

uint64_t Below(Rng& rng, uint64_t n) { return n == 0 ? 0 : rng() % n; }
bool OneIn(Rng& rng, uint64_t n) { return Below(rng, n) == 0; }
template <typename T>
const T& Pick(Rng& rng, const std::vector<T>& v) {
  return v[Below(rng, v.size())];
}
template <typename T, size_t N>
const T& Pick(Rng& rng, const T (&v)[N]) {
  return v[Below(rng, N)];
}

// --- Sites: where the fields that matter are ------------------------------------

enum class SiteKind : uint8_t {
  kPa,           // u64 PA of a folio a record claims, or an FDT's PA property
  kTrackerLink,  // u64 PA of a tracker page: radix entry, kho-v1 next or bitmap
  kArrayLink,    // u64 next_array_phys or an iommu_flb_ser list head
  kObjectRef,    // u64 domain_phys / iommu_phys
  kCount,        // an integer of `size` bytes whose capacity is `aux`
  kOrder,        // u32 kho-v1 chunk order
  kPhysStart,    // u64 kho-v1 phys_start, aligned to the folio size `aux`
  kFlags,        // u32 object flags
  kVersion,      // u64 iommu_flb_ser.version
  kType,         // u64 unit type
  kId,           // devid, pci_domain_nr, attachment_id, token: duplicates matter
  kMaxPasid,     // u64 max_pasid
  kValue,        // anything else: padding, restored fields, arm bytes
  kName,         // the 48-byte name of an FLB entry
  kFdt,          // a whole FDT page
  kBits,         // a kho-v2 leaf or kho-v1 bitmap page
  kPde,          // u64 PASID directory entry
  kPasidEntry,   // 64-byte PASID entry
};

struct Site {
  uint64_t pa;
  uint32_t size;
  SiteKind kind;
  uint64_t aux = 0;
};

// What a mutation can point things at.
struct Pool {
  std::vector<Folio> folios;                // preserved
  std::vector<uint64_t> unpreserved_pages;  // in the image, not preserved
  std::vector<uint64_t> tracker_pages;
  std::vector<uint64_t> array_pages;
  std::vector<uint64_t> objects;       // PA of every object of every list
  std::vector<uint64_t> pasid_tables;  // present tables
  std::vector<uint64_t> pa_values;     // current values of PA-like sites
  uint64_t image_end = 0;
};

// An input, decoded as far as it goes, with its sites.
class Workspace {
 public:
  Workspace() = default;

  Image image;
  HandoffModel model;  // as decoded: partial after errors
  Pool pool;
  std::vector<Site> sites;
  std::vector<uint64_t> allowed_pages;  // sorted; layer targets touch only these

  uint64_t Read(uint64_t pa, uint32_t size) {
    uint64_t v = 0;
    absl::Span<uint8_t> b = image.Mutable(pa, size);
    if (!b.empty()) std::memcpy(&v, b.data(), std::min<uint32_t>(size, 8));
    return v;
  }
  void Write(uint64_t pa, uint64_t v, uint32_t size) {
    absl::Span<uint8_t> b = image.Mutable(pa, size);
    if (!b.empty()) std::memcpy(b.data(), &v, std::min<uint32_t>(size, 8));
  }
  bool Allowed(uint64_t pa) const {
    return allowed_pages.empty() ||
           std::binary_search(allowed_pages.begin(), allowed_pages.end(), pa & ~(kPageSize - 1));
  }
  void Add(uint64_t pa, uint32_t size, SiteKind kind, uint64_t aux = 0) {
    if (Allowed(pa) && !image.Mutable(pa, size).empty()) sites.push_back({pa, size, kind, aux});
  }
  // The RNG of the mutation in progress (Load samples with its own, seeded
  // from the input, so a workspace depends on the input alone).
  Rng& rng() { return *rng_; }
  void set_rng(Rng* rng) { rng_ = rng; }

 private:
  Rng* rng_ = nullptr;
};

// Decoding for mutation: as far as it goes, keeping no problems but one.
Options MutatorOptions() {
  Options o = OptionsFromBytes(OptionBytes{});
  o.max_problems = 1;
  o.strict = false;
  return o;
}

// --- Collecting sites ------------------------------------------------------------

void CollectFdt(Workspace& w, uint64_t page_pa) {
  absl::Span<uint8_t> page = w.image.Mutable(page_pa, kPageSize);
  if (page.empty()) return;
  w.Add(page_pa, kPageSize, SiteKind::kFdt);
  const void* fdt = page.data();
  if (fdt_check_full(fdt, kPageSize) != 0) return;
  int depth = 0;
  for (int node = 0; node >= 0 && depth >= 0; node = fdt_next_node(fdt, node, &depth)) {
    int prop;
    fdt_for_each_property_offset(prop, fdt, node) {
      int len = 0;
      const char* name = nullptr;
      const void* value = fdt_getprop_by_offset(fdt, prop, &name, &len);
      if (value == nullptr || name == nullptr || len != 8) continue;
      const uint64_t at =
          page_pa + static_cast<uint64_t>(static_cast<const uint8_t*>(value) - page.data());
      const bool pa = std::strcmp(name, LUO_FDT_PROP_LIVEUPDATE_NUMBER) != 0;
      w.Add(at, 8, pa ? SiteKind::kPa : SiteKind::kValue);
    }
  }
}

void CollectTracker(Workspace& w) {
  const TrackerModel& t = w.model.kho.tracker;
  for (const RadixPage& p : t.radix_pages) {
    w.pool.tracker_pages.push_back(p.pa);
    if (p.level == 0) {
      w.Add(p.pa, kPageSize, SiteKind::kBits);
      continue;
    }
    // Every link, and a few empty slots a new link could go in.
    absl::Span<uint8_t> page = w.image.Mutable(p.pa, kPageSize);
    if (page.empty()) continue;
    for (unsigned i = 0; i < KHO_RADIX_TABLE_ENTRIES; ++i) {
      uint64_t v;
      std::memcpy(&v, page.data() + 8 * i, 8);
      if (v != 0 || OneIn(w.rng(), 64)) w.Add(p.pa + 8 * i, 8, SiteKind::kTrackerLink);
    }
  }
  for (const TrackerChunk& c : t.chunks) {
    w.pool.tracker_pages.push_back(c.pa);
    w.Add(c.pa + offsetof(khoser_mem_chunk_hdr, next), 8, SiteKind::kTrackerLink);
    w.Add(c.pa + offsetof(khoser_mem_chunk_hdr, order), 4, SiteKind::kOrder);
    w.Add(c.pa + offsetof(khoser_mem_chunk_hdr, num_elms), 4, SiteKind::kCount, KHOSER_BITMAP_SIZE);
    for (size_t j = 0; j < c.entries.size(); ++j) {
      const uint64_t at = c.pa + sizeof(khoser_mem_chunk_hdr) + j * sizeof(khoser_mem_bitmap_ptr);
      w.Add(at, 8, SiteKind::kPhysStart, c.order <= 40 ? FolioBytes(c.order) : kPageSize);
      w.Add(at + 8, 8, SiteKind::kTrackerLink);
      w.pool.tracker_pages.push_back(c.entries[j].bitmap_pa);
      w.Add(c.entries[j].bitmap_pa, kPageSize, SiteKind::kBits);
    }
  }
}

void CollectLuo(Workspace& w) {
  const LuoModel& l = w.model.luo;
  const uint64_t h = l.flb_header_pa;
  if (h == 0) return;
  w.Add(h + offsetof(luo_flb_header_ser, pgcnt), 8, SiteKind::kCount, 1);
  w.Add(h + offsetof(luo_flb_header_ser, count), 8, SiteKind::kCount, LUO_FLB_ENTRIES_PER_PAGE);
  for (size_t i = 0; i < l.flbs.size() && i < LUO_FLB_ENTRIES_PER_PAGE; ++i) {
    const uint64_t at = h + sizeof(luo_flb_header_ser) + i * sizeof(luo_flb_ser);
    w.Add(at + offsetof(luo_flb_ser, name), LIVEUPDATE_FLB_COMPAT_LENGTH, SiteKind::kName);
    w.Add(at + offsetof(luo_flb_ser, data), 8, SiteKind::kPa);
    w.Add(at + offsetof(luo_flb_ser, count), 8, SiteKind::kCount, 1);
  }
}

void CollectHeader(Workspace& w, uint64_t pa) {
  w.Add(pa + offsetof(iommu_hdr_ser, ref_count), 4, SiteKind::kCount, 1);
  w.Add(pa + offsetof(iommu_hdr_ser, flags), 4, SiteKind::kFlags);
}

void CollectIommu(Workspace& w) {
  if (!w.model.iommu.has_value()) return;
  const IommuModel& io = *w.model.iommu;
  const IommuAbi abi = io.abi;
  const IommuAbiLayout& l = LayoutOf(abi);
  const uint64_t f = io.flb_ser_pa;
  if (abi == IommuAbi::kB) w.Add(f, 8, SiteKind::kVersion);
  for (int i = 0; i < 3; ++i) {
    w.Add(f + (abi == IommuAbi::kB ? 8 : 0) + 8 * i, 8, SiteKind::kArrayLink);
  }
  const std::vector<IommuArrayPage>* lists[] = {&io.unit_pages, &io.domain_pages, &io.device_pages};
  const uint32_t caps[] = {l.units_per_page, l.domains_per_page, l.devices_per_page};
  for (int k = 0; k < 3; ++k) {
    for (const IommuArrayPage& p : *lists[k]) {
      w.pool.array_pages.push_back(p.pa);
      w.Add(p.pa, 8, SiteKind::kArrayLink);
      w.Add(p.pa + 8, 8, SiteKind::kCount, caps[k]);
    }
  }
  for (size_t i = 0; i < io.units.size(); ++i) {
    const uint64_t pa = io.ObjectPa(IommuObjectKind::kUnit, i);
    if (pa == 0) continue;
    w.pool.objects.push_back(pa);
    CollectHeader(w, pa);
    w.Add(pa + 8, 8, SiteKind::kId);     // token
    w.Add(pa + 16, 8, SiteKind::kType);  // type
    const uint64_t arm = pa + 24;
    if (io.units[i].type == IOMMU_SER_TYPE_ARM_SMMUV3) {
      for (uint64_t at = 0; at < 88; at += 8) w.Add(arm + at, 8, SiteKind::kValue);
    } else {
      w.Add(arm + offsetof(iommu_intel_ser, restored), 1, SiteKind::kValue);
      w.Add(arm + offsetof(iommu_intel_ser, padding), 1, SiteKind::kValue);
      w.Add(arm + offsetof(iommu_intel_ser, phys_addr), 8, SiteKind::kId);
      w.Add(arm + offsetof(iommu_intel_ser, root_table), 8, SiteKind::kPa);
      w.Add(arm + offsetof(iommu_intel_ser, context_tables_bitmap), 8, SiteKind::kValue);
    }
  }
  for (size_t i = 0; i < io.domains.size(); ++i) {
    const uint64_t pa = io.ObjectPa(IommuObjectKind::kDomain, i);
    if (pa == 0) continue;
    w.pool.objects.push_back(pa);
    CollectHeader(w, pa);
    w.Add(pa + 8, 8, SiteKind::kPa);                                   // top_table_phys
    w.Add(pa + 16, 8, SiteKind::kValue);                               // top_level
    w.Add(pa + 24, 4, SiteKind::kValue);                               // vasz
    w.Add(pa + 28, 1, SiteKind::kValue);                               // sign_extend
    if (abi == IommuAbi::kB) w.Add(pa + 29, 1, SiteKind::kValue);      // padding
    w.Add(pa + (abi == IommuAbi::kA ? 29 : 32), 8, SiteKind::kValue);  // restored_domain
  }
  for (size_t i = 0; i < io.devices.size(); ++i) {
    const uint64_t pa = io.ObjectPa(IommuObjectKind::kDevice, i);
    if (pa == 0) continue;
    const IommuDevice& d = io.devices[i];
    w.pool.objects.push_back(pa);
    CollectHeader(w, pa);
    w.Add(pa + 8, 4, SiteKind::kId);   // devid
    w.Add(pa + 12, 4, SiteKind::kId);  // pci_domain_nr
    const uint64_t map = pa + (abi == IommuAbi::kA ? 16 : 24);
    if (abi == IommuAbi::kB) w.Add(pa + 16, 8, SiteKind::kValue);  // dma_owner_token
    w.Add(map, 8, SiteKind::kId);                                  // attachment_id
    w.Add(map + 8, 8, SiteKind::kObjectRef);                       // domain_phys
    w.Add(map + 16, 8, SiteKind::kObjectRef);                      // iommu_phys
    const uint64_t arm = map + 24;
    const bool smmu = d.unit != kNoObject && static_cast<size_t>(d.unit) < io.units.size() &&
                      io.units[static_cast<size_t>(d.unit)].type == IOMMU_SER_TYPE_ARM_SMMUV3;
    if (smmu) {
      for (uint64_t at = 0; at < 24; at += 8) w.Add(arm + at, 8, SiteKind::kValue);
      w.Add(arm + 12, 4, SiteKind::kValue);  // padding
    } else if (abi == IommuAbi::kA) {
      w.Add(arm, 8, SiteKind::kPa);
      w.Add(arm + 8, 8, SiteKind::kMaxPasid);
    } else {
      w.Add(arm, 1, SiteKind::kValue);      // restored
      w.Add(arm + 1, 1, SiteKind::kValue);  // padding
      w.Add(arm + 8, 8, SiteKind::kPa);
      w.Add(arm + 16, 8, SiteKind::kMaxPasid);
    }
  }
}

void CollectPasid(Workspace& w) {
  if (!w.model.iommu.has_value()) return;
  const IommuModel& io = *w.model.iommu;
  for (const IommuDevice& d : io.devices) {
    const uint64_t dir = d.pasid_table(io.abi);
    const int order = vtd_pasid_stored_max_order(d.max_pasid(io.abi));
    const bool smmu = d.unit != kNoObject && static_cast<size_t>(d.unit) < io.units.size() &&
                      io.units[static_cast<size_t>(d.unit)].type != IOMMU_SER_TYPE_INTEL;
    if (d.hdr.deleted() || smmu || dir == 0 || order < 0 || (dir & (kPageSize - 1)) != 0) {
      continue;
    }
    const uint64_t entries = vtd_pasid_dir_entries(d.max_pasid(io.abi));
    absl::Span<uint8_t> bytes = w.image.Mutable(dir, entries * 8);
    if (bytes.empty()) continue;
    // Non-zero entries, found a word at a time, and a few empty ones.
    for (size_t at = 0; at < bytes.size();) {
      at += FirstNonZero(bytes.subspan(at)) & ~size_t{7};
      if (at >= bytes.size()) break;
      w.Add(dir + at, 8, SiteKind::kPde);
      at += 8;
    }
    for (int i = 0; i < 4; ++i) w.Add(dir + 8 * Below(w.rng(), entries), 8, SiteKind::kPde);
    for (const PasidTable& t : d.pasid.tables) {
      w.pool.pasid_tables.push_back(t.pa());
      absl::Span<uint8_t> table = w.image.Mutable(t.pa(), kPageSize);
      if (table.empty()) continue;
      for (uint32_t e = 0; e < VTD_PASID_TBL_ENTRIES; ++e) {
        if (FirstNonZero(table.subspan(64 * e, 64)) != 64 || OneIn(w.rng(), 16)) {
          w.Add(t.pa() + 64 * e, 64, SiteKind::kPasidEntry);
        }
      }
    }
  }
}

// Fills the pool from the decoded model, the preserved folios and the image.
void CollectPool(Workspace& w, const PreservedMemory& memory) {
  Pool& p = w.pool;
  for (const PreservedMemory::Entry& e : memory.entries()) p.folios.push_back({e.pa, e.order});
  for (const Image::Segment& s : w.image.segments()) {
    p.image_end = std::max(p.image_end, s.pa + s.bytes.size());
    // Unpreserved pages, sampled: at most 64 per segment.
    const uint64_t pages = s.bytes.size() / kPageSize;
    const uint64_t step = std::max<uint64_t>(1, pages / 64);
    for (uint64_t k = 0; k < pages; k += step) {
      const uint64_t pa = s.pa + k * kPageSize;
      if (memory.Covering(pa) == nullptr) p.unpreserved_pages.push_back(pa);
    }
  }
  for (const Site& s : w.sites) {
    if (s.kind == SiteKind::kPa || s.kind == SiteKind::kTrackerLink ||
        s.kind == SiteKind::kArrayLink || s.kind == SiteKind::kObjectRef) {
      const uint64_t v = w.Read(s.pa, 8);
      if (v != 0) p.pa_values.push_back(v);
    }
  }
}

// --- Values ----------------------------------------------------------------------

// A PA where a buggy or hostile producer might point.
uint64_t NewPa(Workspace& w, uint64_t current) {
  Rng& rng = w.rng();
  const Pool& p = w.pool;
  switch (Below(rng, 11)) {
    case 0:
    case 1:
      if (!p.folios.empty()) return Pick(rng, p.folios).pa;  // another folio
      break;
    case 2:
      if (!p.folios.empty()) {  // inside a folio
        const Folio& f = Pick(rng, p.folios);
        return f.pa + (OneIn(rng, 2)
                           ? 8 * (1 + Below(rng, 511))
                           : kPageSize * (1 + Below(rng, (1ull << std::min(f.order, 8u)))));
      }
      break;
    case 3:
      if (!p.unpreserved_pages.empty()) return Pick(rng, p.unpreserved_pages);
      break;
    case 4: {  // misaligned
      static const uint64_t kOffsets[] = {1, 4, 8, 16, 64, 2048, 4095};
      return current + Pick(rng, kOffsets);
    }
    case 5:
      if (!p.pa_values.empty()) return Pick(rng, p.pa_values);  // aliasing
      break;
    case 6:
      return 0;
    case 7: {  // outside the image, or at the edges of the address space
      static const uint64_t kFar[] = {0x1000, 1ull << 52, 1ull << 63, ~0ull - 0xfff, ~0ull};
      return OneIn(rng, 2) ? p.image_end + kPageSize * Below(rng, 16) : Pick(rng, kFar);
    }
    case 8:
      return current + (OneIn(rng, 2) ? kPageSize : -kPageSize);
    case 9:
      if (!p.tracker_pages.empty()) return Pick(rng, p.tracker_pages);  // metadata
      break;
    default:
      if (!p.pasid_tables.empty() && OneIn(rng, 2)) return Pick(rng, p.pasid_tables);
      if (!p.array_pages.empty()) return Pick(rng, p.array_pages);
  }
  return current ^ (uint64_t{1} << Below(rng, 64));
}

uint64_t NewCount(Rng& rng, uint64_t current, uint64_t capacity, uint32_t size) {
  const uint64_t values[] = {
      0,           1,           capacity - 1,   capacity, capacity + 1, 2 * capacity,
      current + 1, current - 1, 0xff,           0x100,    0xffff,       0x10000,
      0x7fffffff,  0xffffffff,  0x100000000ull, ~0ull,    rng()};
  const uint64_t v = Pick(rng, values);
  return size >= 8 ? v : v & ((uint64_t{1} << (8 * size)) - 1);
}

// --- Field mutations -------------------------------------------------------------

// Rewrites one FDT page with libfdt; false if it is not an FDT libfdt opens.
bool MutateFdt(Workspace& w, const Site& s, const char** what) {
  Rng& rng = w.rng();
  absl::Span<uint8_t> page = w.image.Mutable(s.pa, kPageSize);
  if (page.empty()) return false;
  if (OneIn(rng, 5)) {
    // Header fields (big-endian u32): magic, totalsize, offsets, versions, sizes.
    const uint32_t field = static_cast<uint32_t>(Below(rng, 10));
    const uint32_t values[] = {
        0, 1, 16, 17, 18, 0x28, 0x38, 0x1000, 0x1001, 0xffffffffu, static_cast<uint32_t>(rng())};
    const uint32_t v = __builtin_bswap32(Pick(rng, values));
    std::memcpy(page.data() + 4 * field, &v, 4);
    *what = "fdt.header";
    return true;
  }
  // libfdt's read-write functions trust the tree (fdt_open_into copies blocks
  // by the header's sizes): only a tree that passes the full check.
  if (fdt_check_full(page.data(), kPageSize) != 0) return false;
  std::vector<uint8_t> buf(kPageSize);
  if (fdt_open_into(page.data(), buf.data(), static_cast<int>(buf.size())) != 0) return false;
  void* fdt = buf.data();
  // The nodes, for picking one.
  std::vector<int> nodes;
  int depth = 0;
  for (int node = 0; node >= 0 && depth >= 0 && nodes.size() < 64;
       node = fdt_next_node(fdt, node, &depth)) {
    nodes.push_back(node);
  }
  if (nodes.empty()) return false;
  const int node = Pick(rng, nodes);
  int err = 0;
  switch (Below(rng, 7)) {
    case 0: {  // compatible: another version, a list, no NUL, empty
      static const char* const kCompat[] = {KHO_V1_FDT_COMPATIBLE,
                                            KHO_V2_FDT_COMPATIBLE,
                                            "kho-v3",
                                            LUO_FDT_COMPATIBLE,
                                            "luo-v2",
                                            LUO_FDT_FLB_COMPATIBLE,
                                            "luo-flb-v2",
                                            "",
                                            "kho",
                                            "luo-flb"};
      const char* c = Pick(rng, kCompat);
      const int len = static_cast<int>(std::strlen(c));
      switch (Below(rng, 3)) {
        case 0:
          err = fdt_setprop(fdt, node, "compatible", c, len + 1);
          break;
        case 1:
          err = fdt_setprop(fdt, node, "compatible", c, len);  // no NUL
          break;
        default: {  // a string list: an unknown entry, then this one
          std::string list = std::string("vendor,other") + '\0' + c + '\0';
          err = fdt_setprop(fdt, node, "compatible", list.data(), static_cast<int>(list.size()));
        }
      }
      *what = "fdt.compatible";
      break;
    }
    case 1: {  // a u64 property of another size, or its value
      static const char* const kProps[] = {KHO_PROP_PRESERVED_MEMORY_MAP, KHO_V1_PROP_SUB_FDT,
                                           KHO_V2_PROP_SUB_DATA, LUO_FDT_PROP_LIVEUPDATE_NUMBER,
                                           LUO_FDT_FLB_PROP_HEADER};
      const char* name = Pick(rng, kProps);
      uint8_t value[16];
      const uint64_t pa = NewPa(w, 0);
      std::memcpy(value, &pa, 8);
      std::memcpy(value + 8, &pa, 8);
      static const int kLens[] = {0, 4, 7, 8, 8, 8, 9, 12, 16};
      err = fdt_setprop(fdt, node, name, value, Pick(rng, kLens));
      *what = "fdt.u64_property";
      break;
    }
    case 2: {  // delete a property
      int prop = fdt_first_property_offset(fdt, node);
      if (prop < 0) return false;
      const char* name = nullptr;
      for (uint64_t skip = Below(rng, 4); skip > 0; --skip) {
        const int next = fdt_next_property_offset(fdt, prop);
        if (next < 0) break;
        prop = next;
      }
      if (fdt_getprop_by_offset(fdt, prop, &name, nullptr) == nullptr || name == nullptr) {
        return false;
      }
      const std::string copy = name;
      err = fdt_delprop(fdt, node, copy.c_str());
      *what = "fdt.delete_property";
      break;
    }
    case 3:  // delete a node
      if (node == 0) return false;
      err = fdt_del_node(fdt, node);
      *what = "fdt.delete_node";
      break;
    case 4: {  // add a node: another user, a second LUO, or deep nesting
      static const char* const kNames[] = {LUO_KHO_NODE_NAME, LUO_FDT_FLB_NODE_NAME, "memblock",
                                           "other-user"};
      int parent = node;
      const int levels = OneIn(rng, 4) ? 10 : 1;
      for (int i = 0; i < levels && parent >= 0; ++i) {
        parent = fdt_add_subnode(fdt, parent, Pick(rng, kNames));
      }
      if (parent < 0) return false;
      const uint64_t pa = NewPa(w, 0);
      static const char* const kProps[] = {KHO_V1_PROP_SUB_FDT, KHO_V2_PROP_SUB_DATA};
      err = fdt_setprop(fdt, parent, Pick(rng, kProps), &pa, 8);
      *what = "fdt.add_node";
      break;
    }
    case 5: {  // a property that duplicates nothing but makes the strings block grow
      const uint64_t v = rng();
      err = fdt_setprop(fdt, node, "x", &v, 8);
      *what = "fdt.add_property";
      break;
    }
    default: {  // rename a node (a sibling may then have the same name)
      if (node == 0) return false;
      static const char* const kNames[] = {LUO_KHO_NODE_NAME, LUO_FDT_FLB_NODE_NAME, "luo",
                                           "LUO@0"};
      err = fdt_set_name(fdt, node, Pick(rng, kNames));
      *what = "fdt.rename_node";
    }
  }
  if (err != 0 || fdt_pack(fdt) != 0 || fdt_totalsize(fdt) > kPageSize) return false;
  std::memset(page.data(), 0, kPageSize);
  std::memcpy(page.data(), fdt, fdt_totalsize(fdt));
  return true;
}

void MutateBits(Workspace& w, const Site& s, const char** what) {
  Rng& rng = w.rng();
  absl::Span<uint8_t> page = w.image.Mutable(s.pa, kPageSize);
  std::vector<uint32_t> set_bits;
  for (uint32_t i = 0; i < kPageSize * 8 && set_bits.size() < 256; ++i) {
    if (page[i / 8] & (1u << (i % 8))) set_bits.push_back(i);
  }
  uint32_t bit;
  switch (Below(rng, 4)) {
    case 0:  // a neighbour of a set bit: an adjacent folio of the same order
      bit = set_bits.empty()
                ? static_cast<uint32_t>(Below(rng, kPageSize * 8))
                : (Pick(rng, set_bits) + (OneIn(rng, 2) ? 1 : kPageSize * 8 - 1)) % (kPageSize * 8);
      *what = "bits.neighbour";
      break;
    case 1:  // clear one
      if (set_bits.empty()) return;
      bit = Pick(rng, set_bits);
      *what = "bits.clear";
      break;
    case 2:  // the top bits: kho-v2 keys of high orders, kho-v1 folios near 2^64
      bit = kPageSize * 8 - 1 - static_cast<uint32_t>(Below(rng, 64));
      *what = "bits.high";
      break;
    default:
      bit = static_cast<uint32_t>(Below(rng, kPageSize * 8));
      *what = "bits.random";
  }
  page[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
}

void MutatePde(Workspace& w, const Site& s, const char** what) {
  Rng& rng = w.rng();
  uint64_t v = w.Read(s.pa, 8);
  switch (Below(rng, 6)) {
    case 0:
      v ^= VTD_PDE_PRESENT;
      *what = "pde.present";
      break;
    case 1:
      v |= uint64_t{1} << (2 + Below(rng, 10));
      *what = "pde.reserved";
      break;
    case 2:
      v ^= VTD_PDE_FPD;
      *what = "pde.fpd";
      break;
    case 3:  // share a table with another entry or device
      if (w.pool.pasid_tables.empty()) return;
      v = Pick(rng, w.pool.pasid_tables) | VTD_PDE_PRESENT;
      *what = "pde.share_table";
      break;
    case 4:
      v = 0;
      *what = "pde.clear";
      break;
    default:  // another page
      v = (NewPa(w, v & VTD_PDE_TABLE_MASK) & VTD_PDE_TABLE_MASK) | VTD_PDE_PRESENT;
      *what = "pde.table";
  }
  w.Write(s.pa, v, 8);
}

void MutatePasidEntry(Workspace& w, const Site& s, const char** what) {
  Rng& rng = w.rng();
  uint64_t q[8];
  for (int i = 0; i < 8; ++i) q[i] = w.Read(s.pa + 8 * i, 8);
  auto set_field = [&q](int word, uint64_t mask, unsigned shift, uint64_t v) {
    q[word] = (q[word] & ~mask) | ((v << shift) & mask);
  };
  switch (Below(rng, 9)) {
    case 0:
      q[0] ^= VTD_PE0_PRESENT;
      *what = "pasid_entry.present";
      break;
    case 1:
      set_field(0, VTD_PE0_PGTT_MASK, VTD_PE0_PGTT_SHIFT, Below(rng, 8));
      *what = "pasid_entry.pgtt";
      break;
    case 2:
      set_field(0, VTD_PE0_AW_MASK, VTD_PE0_AW_SHIFT, Below(rng, 8));
      *what = "pasid_entry.aw";
      break;
    case 3:
      set_field(2, VTD_PE2_FLPM_MASK, VTD_PE2_FLPM_SHIFT, Below(rng, 4));
      *what = "pasid_entry.flpm";
      break;
    case 4: {  // reserved bits of qwords 0-2
      static const int kBits[][2] = {{0, 10}, {0, 11}, {1, 16}, {1, 19}, {1, 22}, {2, 8}, {2, 11}};
      const auto& b = kBits[Below(rng, 7)];
      q[b[0]] |= uint64_t{1} << b[1];
      *what = "pasid_entry.reserved";
      break;
    }
    case 5:
      q[3 + Below(rng, 5)] = rng() | 1;
      *what = "pasid_entry.high_qwords";
      break;
    case 6:  // second-level pointer: none, or another page
      set_field(0, VTD_PE0_SLPTPTR_MASK, 0, OneIn(rng, 2) ? 0 : NewPa(w, 0));
      *what = "pasid_entry.slptptr";
      break;
    case 7:
      set_field(2, VTD_PE2_FLPTPTR_MASK, 0, OneIn(rng, 2) ? 0 : NewPa(w, 0));
      *what = "pasid_entry.flptptr";
      break;
    default:
      set_field(1, VTD_PE1_DID_MASK, 0, OneIn(rng, 2) ? rng() : Below(rng, 4));
      *what = "pasid_entry.did";
  }
  for (int i = 0; i < 8; ++i) w.Write(s.pa + 8 * i, q[i], 8);
}

void MutateName(Workspace& w, const Site& s, const char** what) {
  Rng& rng = w.rng();
  absl::Span<uint8_t> name = w.image.Mutable(s.pa, LIVEUPDATE_FLB_COMPAT_LENGTH);
  static const char* const kNames[] = {IOMMU_A_FLB_COMPATIBLE,
                                       IOMMU_B_FLB_COMPATIBLE,
                                       "iommu-liveupdate-v2",
                                       "iommu",
                                       "iommu-",
                                       "example-flb-0-v1",
                                       ""};
  switch (Below(rng, 4)) {
    case 0:  // no NUL in 48 bytes
      std::memset(name.data(), 'A', name.size());
      *what = "name.unterminated";
      return;
    case 1: {  // the name of another entry: duplicates
      std::vector<const Site*> others;
      for (const Site& o : w.sites) {
        if (o.kind == SiteKind::kName && o.pa != s.pa) others.push_back(&o);
      }
      if (others.empty()) break;
      absl::Span<uint8_t> other = w.image.Mutable(Pick(rng, others)->pa, name.size());
      std::memcpy(name.data(), other.data(), name.size());
      *what = "name.duplicate";
      return;
    }
    case 2:  // bytes after the NUL
      name[name.size() - 1 - Below(rng, 8)] = static_cast<uint8_t>(rng() | 1);
      *what = "name.after_nul";
      return;
    default:
      break;
  }
  std::memset(name.data(), 0, name.size());
  const char* n = Pick(rng, kNames);
  std::memcpy(name.data(), n, std::strlen(n));
  *what = "name.known";
}

// Mutates the field at `s`. Returns false if nothing changed.
bool MutateSite(Workspace& w, const Site& s, const char** what) {
  Rng& rng = w.rng();
  const uint64_t cur = s.size <= 8 ? w.Read(s.pa, s.size) : 0;
  uint64_t v = cur;
  switch (s.kind) {
    case SiteKind::kFdt:
      return MutateFdt(w, s, what);
    case SiteKind::kBits:
      MutateBits(w, s, what);
      return true;
    case SiteKind::kPde:
      MutatePde(w, s, what);
      return true;
    case SiteKind::kPasidEntry:
      MutatePasidEntry(w, s, what);
      return true;
    case SiteKind::kName:
      MutateName(w, s, what);
      return true;
    case SiteKind::kPa:
      v = NewPa(w, cur);
      *what = "pa";
      break;
    case SiteKind::kTrackerLink:
      switch (Below(rng, 4)) {
        case 0:  // to itself, or the page holding it: a cycle
          v = s.pa & ~(kPageSize - 1);
          *what = "tracker_link.self";
          break;
        case 1:  // another tracker page: a shared node, or a chunk as bitmap
          if (w.pool.tracker_pages.empty()) return false;
          v = Pick(rng, w.pool.tracker_pages);
          *what = "tracker_link.other";
          break;
        default:
          v = NewPa(w, cur);
          *what = "tracker_link.pa";
      }
      break;
    case SiteKind::kArrayLink:
      switch (Below(rng, 4)) {
        case 0:
          v = s.pa & ~(kPageSize - 1);
          *what = "array_link.self";
          break;
        case 1:  // an earlier page, or one of another list
          if (w.pool.array_pages.empty()) return false;
          v = Pick(rng, w.pool.array_pages);
          *what = "array_link.other";
          break;
        default:
          v = NewPa(w, cur);
          *what = "array_link.pa";
      }
      break;
    case SiteKind::kObjectRef:
      switch (Below(rng, 4)) {
        case 0:  // another object, of any type
          if (w.pool.objects.empty()) return false;
          v = Pick(rng, w.pool.objects);
          *what = "object_ref.object";
          break;
        case 1: {  // inside an object, the page header, or past the last object
          static const int64_t kOffsets[] = {1, 8, -1, 37, 40, 56, 72, 112, 4000};
          v = cur + static_cast<uint64_t>(Pick(rng, kOffsets));
          *what = "object_ref.offset";
          break;
        }
        case 2:
          v = w.pool.array_pages.empty() ? 0 : Pick(rng, w.pool.array_pages);
          *what = "object_ref.page";
          break;
        default:
          v = NewPa(w, cur);
          *what = "object_ref.pa";
      }
      break;
    case SiteKind::kCount:
      v = NewCount(rng, cur, s.aux, s.size);
      *what = "count";
      break;
    case SiteKind::kOrder: {
      static const uint64_t kOrders[] = {0,  1,  2,  9,  10, 18, 30,
                                         40, 51, 52, 53, 63, 64, 0xffffffff};
      v = Pick(rng, kOrders);
      *what = "order";
      break;
    }
    case SiteKind::kPhysStart:
      switch (Below(rng, 3)) {
        case 0:
          v = cur + s.aux / 2 + 4096;  // unaligned
          break;
        case 1:
          v = ~0ull - s.aux * 1024 + 1;  // folios that end beyond 2^64
          break;
        default:
          v = cur + s.aux * KHO_V1_PRESERVE_BITS * (OneIn(rng, 2) ? 1 : ~0ull);  // neighbour
      }
      *what = "phys_start";
      break;
    case SiteKind::kFlags: {
      static const uint64_t kFlags[] = {0,
                                        IOMMU_SER_FLAG_DELETED,
                                        IOMMU_SER_FLAG_INCOMING,
                                        IOMMU_SER_FLAG_DELETED | IOMMU_SER_FLAG_INCOMING,
                                        4,
                                        0x80000000u,
                                        0xffffffffu};
      v = OneIn(rng, 3) ? cur ^ (uint64_t{1} << Below(rng, 32)) : Pick(rng, kFlags);
      *what = "flags";
      break;
    }
    case SiteKind::kVersion: {
      static const uint64_t kVersions[] = {0, 1, 2, 0x100, ~0ull};
      v = Pick(rng, kVersions);
      *what = "version";
      break;
    }
    case SiteKind::kType: {
      static const uint64_t kTypes[] = {IOMMU_SER_TYPE_INVALID,
                                        IOMMU_SER_TYPE_INTEL,
                                        IOMMU_SER_TYPE_ARM_SMMUV3,
                                        3,
                                        0x100000001ull,
                                        ~0ull};
      v = Pick(rng, kTypes);
      *what = "type";
      break;
    }
    case SiteKind::kId: {
      // Another record's value (duplicates), or the edges of 16 bits.
      std::vector<uint64_t> same;
      for (const Site& o : w.sites) {
        if (o.kind == SiteKind::kId && o.size == s.size && o.pa != s.pa) {
          same.push_back(w.Read(o.pa, o.size));
        }
      }
      static const uint64_t kIds[] = {0, 1, 0xffff, 0x10000, 0xffffffff, ~0ull};
      v = !same.empty() && OneIn(rng, 2) ? Pick(rng, same) : Pick(rng, kIds);
      if (s.size < 8) v &= (uint64_t{1} << (8 * s.size)) - 1;
      *what = "id";
      break;
    }
    case SiteKind::kMaxPasid: {
      static const uint64_t kMax[] = {0,       1,       0x7fff,  0x8000,     0x10000,
                                      0x20000, 0x40000, 0x80000, 0x100000,   0x200000,
                                      0x18000, 0x8001,  ~0ull,   0x100008000};
      v = Pick(rng, kMax);
      *what = "max_pasid";
      break;
    }
    case SiteKind::kValue:
      v = OneIn(rng, 2) ? cur ^ (uint64_t{1} << Below(rng, 8 * s.size)) : rng();
      if (s.size < 8) v &= (uint64_t{1} << (8 * s.size)) - 1;
      *what = "value";
      break;
  }
  if (v == cur) v ^= 1;
  w.Write(s.pa, v, s.size);
  return true;
}

// --- Model mutations (ELF inputs): change the model, encode again ---------------

// New memory goes above everything the image holds, past a gap.
PageAllocator::Config AboveImage(const Workspace& w) {
  PageAllocator::Config config;
  config.base = ((w.pool.image_end >> 21) + 2) << 21;
  return config;
}

class ModelEditor {
 public:
  explicit ModelEditor(Workspace& w) : w_(w), m_(w.model), allocator_(AboveImage(w)) {}

  // Allocates and preserves a new folio; 0 if memory ran out.
  uint64_t NewFolio(unsigned order) {
    absl::StatusOr<uint64_t> pa = allocator_.Alloc(order);
    if (!pa.ok()) return 0;
    added_.push_back({*pa, order});
    return *pa;
  }
  void Unpreserve(uint64_t pa) { removed_.push_back(pa); }

  // Plans the tracker again and encodes the model into the workspace.
  bool Encode() {
    std::vector<Folio> folios;
    for (const Folio& f : m_.kho.tracker.folios) {
      if (std::find(removed_.begin(), removed_.end(), f.pa) == removed_.end()) folios.push_back(f);
    }
    folios.insert(folios.end(), added_.begin(), added_.end());
    absl::StatusOr<TrackerModel> tracker = PlanTracker(m_.kho.version, folios, allocator_);
    if (!tracker.ok()) return false;
    m_.kho.tracker = *std::move(tracker);
    // The root FDT names the tracker: patch the property where it is, so
    // the rest of a (possibly odd) root FDT stays.
    std::vector<uint8_t>& raw = m_.kho.root_fdt_raw;
    if (!raw.empty()) {
      int len = 0;
      void* fdt = raw.data();
      const void* v = fdt_check_full(fdt, raw.size()) == 0
                          ? fdt_getprop(fdt, 0, KHO_PROP_PRESERVED_MEMORY_MAP, &len)
                          : nullptr;
      if (v != nullptr && len == 8) {
        const uint64_t root = m_.kho.tracker.root_pa();
        std::memcpy(const_cast<void*>(v), &root, 8);
      } else {
        raw.clear();
      }
    }
    // The encoder writes every preserved folio: a decoded tracker may hold
    // folios of any order, which no input can afford to carry.
    uint64_t bytes = 0;
    for (const Folio& f : m_.kho.tracker.folios) {
      bytes += f.order <= 30 ? FolioBytes(f.order) : kFuzzMaxImageBytes;
      if (bytes > kFuzzMaxImageBytes) return false;
    }
    absl::StatusOr<Image> image = EncodeHandoff(m_);
    if (!image.ok()) return false;
    w_.image = *std::move(image);
    return true;
  }

  HandoffModel& model() { return m_; }

 private:
  Workspace& w_;
  HandoffModel& m_;
  PageAllocator allocator_;
  std::vector<Folio> added_;
  std::vector<uint64_t> removed_;
};

template <typename Obj>
bool AppendObject(ModelEditor& ed, std::vector<IommuArrayPage>& pages, std::vector<Obj>& objects,
                  uint32_t capacity, Obj obj) {
  if (pages.empty() || pages.back().nr_objects >= capacity) {
    const uint64_t pa = ed.NewFolio(0);
    if (pa == 0) return false;
    pages.push_back({pa, 0});
  }
  ++pages.back().nr_objects;
  objects.push_back(std::move(obj));
  return true;
}

// One change of the model. Returns false if it does not apply.
bool MutateModel(Workspace& w, const char** what) {
  Rng& rng = w.rng();
  ModelEditor ed(w);
  HandoffModel& m = ed.model();
  // The decoded lists and objects must agree for the encoder.
  if (m.iommu.has_value()) {
    const IommuModel& io = *m.iommu;
    auto total = [](const std::vector<IommuArrayPage>& pages) {
      uint64_t n = 0;
      for (const IommuArrayPage& p : pages) n += p.nr_objects;
      return n;
    };
    if (total(io.unit_pages) != io.units.size() || total(io.domain_pages) != io.domains.size() ||
        total(io.device_pages) != io.devices.size()) {
      m.iommu.reset();
    }
  }
  const bool iommu = m.iommu.has_value();
  switch (Below(rng, 8)) {
    case 0: {  // a long chain: pages with few or no objects
      if (!iommu) return false;
      IommuModel& io = *m.iommu;
      std::vector<IommuArrayPage>* lists[] = {&io.unit_pages, &io.domain_pages, &io.device_pages};
      std::vector<IommuArrayPage>& pages = *lists[Below(rng, 3)];
      const uint64_t n = OneIn(rng, 8) ? 80 : 1 + Below(rng, 4);
      for (uint64_t i = 0; i < n; ++i) {
        const uint64_t pa = ed.NewFolio(0);
        if (pa == 0) return false;
        pages.push_back({pa, 0});
      }
      *what = "model.long_chain";
      break;
    }
    case 1: {  // one more object: a copy of another (duplicate ids, tokens)
      if (!iommu) return false;
      IommuModel& io = *m.iommu;
      const IommuAbiLayout& l = LayoutOf(io.abi);
      const uint64_t kind = Below(rng, 3);
      const uint64_t copies = OneIn(rng, 4) ? 60 : 1;
      for (uint64_t c = 0; c < copies; ++c) {
        bool ok = false;
        if (kind == 0 && !io.units.empty()) {
          ok = AppendObject(ed, io.unit_pages, io.units, l.units_per_page, Pick(rng, io.units));
        } else if (kind == 1 && !io.domains.empty()) {
          ok = AppendObject(ed, io.domain_pages, io.domains, l.domains_per_page,
                            Pick(rng, io.domains));
        } else if (!io.devices.empty()) {
          IommuDevice d = Pick(rng, io.devices);
          d.pasid = PasidState{};  // its own PASID state, if any, would be written twice
          if (d.unit != kNoObject &&
              io.units[static_cast<size_t>(d.unit)].type == IOMMU_SER_TYPE_INTEL) {
            d.set_intel(io.abi, 0, 0);
          }
          d.devid += static_cast<uint32_t>(c);
          ok = AppendObject(ed, io.device_pages, io.devices, l.devices_per_page, d);
        }
        if (!ok) return false;
      }
      *what = "model.more_objects";
      break;
    }
    case 2: {  // another PASID table
      if (!iommu) return false;
      IommuModel& io = *m.iommu;
      std::vector<IommuDevice*> devices;
      for (IommuDevice& d : io.devices) {
        if (!d.hdr.deleted() && vtd_pasid_stored_max_order(d.max_pasid(io.abi)) >= 0 &&
            d.pasid_table(io.abi) != 0 && d.unit != kNoObject) {
          devices.push_back(&d);
        }
      }
      if (devices.empty()) return false;
      IommuDevice& d = *Pick(rng, devices);
      const uint32_t entries = static_cast<uint32_t>(vtd_pasid_dir_entries(d.max_pasid(io.abi)));
      const uint32_t index =
          OneIn(rng, 2) ? entries - 1 : static_cast<uint32_t>(Below(rng, entries));
      if (d.pasid.TableFor(index) != nullptr) return false;
      const uint64_t pa = ed.NewFolio(0);
      if (pa == 0) return false;
      PasidTable t;
      t.dir_index = index;
      t.pde = pa | VTD_PDE_PRESENT;
      if (!d.pasid.tables.empty()) {
        const PasidTable& from = Pick(rng, d.pasid.tables);
        for (uint32_t e = 0; e < VTD_PASID_TBL_ENTRIES; ++e) t.entries.Set(e, from.entries.Get(e));
      }
      auto& tables = d.pasid.tables;
      tables.insert(
          std::lower_bound(tables.begin(), tables.end(), index,
                           [](const PasidTable& a, uint32_t i) { return a.dir_index < i; }),
          std::move(t));
      auto& stale = d.pasid.stale_dir_entries;
      stale.erase(std::remove_if(stale.begin(), stale.end(),
                                 [index](const auto& e) { return e.first == index; }),
                  stale.end());
      *what = "model.pasid_table";
      break;
    }
    case 3: {  // a directory of another size, consistently preserved
      if (!iommu) return false;
      IommuModel& io = *m.iommu;
      std::vector<IommuDevice*> devices;
      for (IommuDevice& d : io.devices) {
        if (!d.hdr.deleted() && vtd_pasid_stored_max_order(d.max_pasid(io.abi)) >= 0 &&
            d.pasid_table(io.abi) != 0) {
          devices.push_back(&d);
        }
      }
      if (devices.empty()) return false;
      IommuDevice& d = *Pick(rng, devices);
      const unsigned order = static_cast<unsigned>(Below(rng, VTD_PASID_DIR_MAX_ORDER + 1));
      const uint64_t dir = ed.NewFolio(order);
      if (dir == 0) return false;
      ed.Unpreserve(d.pasid_table(io.abi));
      const uint64_t max = vtd_pasid_stored_max(order);
      const uint64_t entries = vtd_pasid_dir_entries(max);
      for (const PasidTable& t : d.pasid.tables) {
        if (t.dir_index >= entries) ed.Unpreserve(t.pa());
      }
      auto& tables = d.pasid.tables;
      tables.erase(
          std::remove_if(tables.begin(), tables.end(),
                         [entries](const PasidTable& t) { return t.dir_index >= entries; }),
          tables.end());
      auto& stale = d.pasid.stale_dir_entries;
      stale.erase(std::remove_if(stale.begin(), stale.end(),
                                 [entries](const auto& e) { return e.first >= entries; }),
                  stale.end());
      const uint8_t restored = d.arch[0];
      d.set_intel(io.abi, dir, max);
      if (io.abi == IommuAbi::kB) d.arch[0] = restored;
      *what = "model.resize_directory";
      break;
    }
    case 4: {  // another FLB, IOMMU or not
      if (m.luo.flbs.size() >= LUO_FLB_ENTRIES_PER_PAGE) return false;
      const uint64_t pa = ed.NewFolio(0);
      if (pa == 0) return false;
      static const char* const kNames[] = {"example-flb-9-v1", IOMMU_A_FLB_COMPATIBLE,
                                           IOMMU_B_FLB_COMPATIBLE, "iommu-liveupdate-v2"};
      m.luo.flbs.push_back(FlbEntry::Make(Pick(rng, kNames), pa, Below(rng, 3)));
      *what = "model.flb";
      break;
    }
    case 5: {  // another preserved folio, of any order: more tracker
      // Every input carries its preserved folios' bytes and every run reads
      // them: a 2 MiB folio only now and then.
      static const unsigned kOrders[] = {0, 1, 2, 3};
      if (ed.NewFolio(OneIn(rng, 16) ? 9 : Pick(rng, kOrders)) == 0) return false;
      *what = "model.folio";
      break;
    }
    case 6:  // the other tracker format
      m.kho.version = m.kho.version == KhoVersion::kV1 ? KhoVersion::kV2 : KhoVersion::kV1;
      m.kho.root_fdt_raw.clear();
      *what = "model.kho_version";
      break;
    default: {  // a unit of another type, or a device on another unit
      if (!iommu || m.iommu->units.empty()) return false;
      IommuModel& io = *m.iommu;
      IommuUnit& u = io.units[Below(rng, io.units.size())];
      if (u.type == IOMMU_SER_TYPE_INTEL && io.abi == IommuAbi::kB) {
        u.type = IOMMU_SER_TYPE_ARM_SMMUV3;
        u.set_smmuv3({u.token, 0, 0, 0});
      } else {
        u.type = IOMMU_SER_TYPE_INTEL;
        iommu_intel_ser intel;
        std::memset(&intel, 0, sizeof intel);
        intel.phys_addr = u.token;
        intel.root_table = ed.NewFolio(0);
        u.set_intel(intel);
      }
      *what = "model.unit_type";
    }
  }
  return ed.Encode();
}

// --- ELF file mutations ------------------------------------------------------------

bool MutateElfFile(Rng& rng, std::vector<uint8_t>& file, const char** what) {
  Elf64_Ehdr eh;
  if (file.size() < sizeof eh) return false;
  std::memcpy(&eh, file.data(), sizeof eh);
  const uint64_t table = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  if (OneIn(rng, 6) || eh.e_phnum == 0 || eh.e_phoff > file.size() ||
      table > file.size() - eh.e_phoff) {
    static const uint64_t kPhnum[] = {0, 1, 2, PN_XNUM, 0xfffe};
    static const uint64_t kEntsize[] = {0, 32, 56, 64};
    switch (Below(rng, 4)) {
      case 0:
        eh.e_phnum = static_cast<Elf64_Half>(OneIn(rng, 2) ? eh.e_phnum + 1 : Pick(rng, kPhnum));
        break;
      case 1:
        eh.e_phentsize = static_cast<Elf64_Half>(Pick(rng, kEntsize));
        break;
      case 2:
        eh.e_phoff = OneIn(rng, 2) ? file.size() - Below(rng, 64) : ~0ull - Below(rng, 64);
        break;
      default:
        static const Elf64_Half kTypes[] = {ET_EXEC, ET_CORE, ET_DYN};
        static const Elf64_Half kMachines[] = {EM_X86_64, EM_AARCH64};
        eh.e_type = Pick(rng, kTypes);
        eh.e_machine = Pick(rng, kMachines);
    }
    std::memcpy(file.data(), &eh, sizeof eh);
    *what = "elf.header";
    return true;
  }
  std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
  std::memcpy(phdrs.data(), file.data() + eh.e_phoff, table);
  Elf64_Phdr& ph = phdrs[Below(rng, phdrs.size())];
  const Elf64_Phdr& other = phdrs[Below(rng, phdrs.size())];
  if (ph.p_type == PT_NOTE && OneIn(rng, 2)) {
    // The first note's header: its sizes, or its type.
    if (ph.p_offset > file.size() || file.size() - ph.p_offset < 12) return false;
    uint32_t nh[3];
    std::memcpy(nh, file.data() + ph.p_offset, sizeof nh);
    static const uint32_t kSizes[] = {0, 3, 4, 5, 8, 12, 0xfffffffc, 0xffffffff};
    nh[Below(rng, 3)] = Pick(rng, kSizes);
    std::memcpy(file.data() + ph.p_offset, nh, sizeof nh);
    *what = "elf.note";
    return true;
  }
  switch (Below(rng, 5)) {
    case 0: {
      static const uint32_t kTypes[] = {PT_NULL, PT_LOAD, PT_NOTE, PT_GNU_STACK};
      ph.p_type = Pick(rng, kTypes);
      *what = "elf.p_type";
      break;
    }
    case 1: {
      const uint64_t values[] = {0, file.size(), file.size() - 1, other.p_offset, ~0ull};
      ph.p_offset = Pick(rng, values);
      *what = "elf.p_offset";
      break;
    }
    case 2: {
      const uint64_t values[] = {
          0, ph.p_memsz + 1, file.size(), ph.p_filesz + 1, ph.p_filesz - 1, ~0ull};
      ph.p_filesz = Pick(rng, values);
      *what = "elf.p_filesz";
      break;
    }
    case 3: {
      const uint64_t values[] = {
          0, ph.p_filesz - 1, ph.p_filesz, ph.p_memsz + kPageSize, ~ph.p_paddr + 2, 1ull << 32};
      ph.p_memsz = Pick(rng, values);
      *what = "elf.p_memsz";
      break;
    }
    default: {  // overlapping, touching, or wrapping segments
      const uint64_t values[] = {other.p_paddr, other.p_paddr + other.p_memsz,
                                 other.p_paddr + kPageSize, ~0ull - 0xfff, 0};
      ph.p_paddr = Pick(rng, values);
      *what = "elf.p_paddr";
    }
  }
  std::memcpy(file.data() + eh.e_phoff, phdrs.data(), table);
  return true;
}

// Writes `image` as an ELF input with the option bytes of the original.
std::vector<uint8_t> ToElf(Rng& rng, const Image& image, const OptionBytes& options) {
  std::string s;
  if (OneIn(rng, 16)) {
    // One or two KHO notes, or none; full-size layout now and then.
    std::vector<ElfSegment> segs;
    for (const Image::Segment& seg : image.segments()) segs.push_back({seg.pa, seg.bytes});
    std::vector<uint64_t> roots = {image.root_pa};
    if (OneIn(rng, 2)) roots.push_back(OneIn(rng, 2) ? image.root_pa : image.root_pa + kPageSize);
    if (OneIn(rng, 4)) roots.clear();
    s = WriteElfSegments(segs, roots);
  } else {
    s = WriteCompactElfImage(image);
  }
  std::vector<uint8_t> out(s.begin(), s.end());
  for (size_t i = 0; i < kOptionBytes && kElfOptionOffset + i < out.size(); ++i) {
    out[kElfOptionOffset + i] = options[i];
  }
  return out;
}

void MutateOptions(Rng& rng, OptionBytes& o, const char** what) {
  switch (Below(rng, 3)) {
    case 0:
      o[0] ^= static_cast<uint8_t>(1u << Below(rng, 8));
      break;
    case 1:  // a tight limit: small values hit it
      o[1] = static_cast<uint8_t>(1 + Below(rng, 9));
      o[2] = static_cast<uint8_t>(Below(rng, 40));
      o[3] = OneIn(rng, 4) ? static_cast<uint8_t>(Below(rng, 4)) : 0;
      break;
    default:
      o = OptionBytes{};
  }
  *what = "options";
}

// Builds the workspace of an image: decodes it and lists its sites.
void Load(Workspace& w, const ImageView& view, const Options& options, uint64_t input_hash) {
  Rng sampling(input_hash);  // sites sampled from the input alone
  w.set_rng(&sampling);
  w.image = Image();
  std::vector<Image::Segment> segments;
  for (const SegmentView& s : view.segments) {
    segments.push_back({s.pa, std::vector<uint8_t>(s.bytes.begin(), s.bytes.end())});
  }
  absl::StatusOr<Image> image = Image::FromSegments(view.root_pa, std::move(segments));
  if (image.ok()) w.image = *std::move(image);
  Decoder decoder(options);
  const DecodeResult& r = decoder.Decode(w.image.View());
  w.model = r.handoff;
  // The model's PASID tables are views of the decoded image: make them own
  // their entries, since the image is about to change.
  if (w.model.iommu.has_value()) {
    for (IommuDevice& d : w.model.iommu->devices) {
      for (PasidTable& t : d.pasid.tables) {
        if (t.entries.is_view()) t.entries.Set(0, t.entries.Get(0));
      }
    }
  }
  CollectFdt(w, w.model.kho.root_fdt_pa);
  if (w.model.luo.fdt_pa != 0) CollectFdt(w, w.model.luo.fdt_pa);
  CollectTracker(w);
  CollectLuo(w);
  CollectIommu(w);
  CollectPasid(w);
  CollectPool(w, r.memory);
  w.set_rng(nullptr);
}

// Site kinds a mutation picks first, then a site of that kind: rare kinds
// (versions, FDT pages) get as many turns as the hundreds of PASID entries.
const Site* PickSite(Rng& rng, const std::vector<Site>& sites) {
  if (sites.empty()) return nullptr;
  std::map<SiteKind, std::vector<const Site*>> by_kind;
  for (const Site& s : sites) by_kind[s.kind].push_back(&s);
  auto it = by_kind.begin();
  std::advance(it, static_cast<long>(Below(rng, by_kind.size())));
  return Pick(rng, it->second);
}

// Emit copies a mutated input out, or returns 0 if it does not fit.
size_t Emit(const std::vector<uint8_t>& bytes, uint8_t* data, size_t max_size) {
  if (bytes.empty() || bytes.size() > max_size) return 0;
  std::memcpy(data, bytes.data(), bytes.size());
  return bytes.size();
}

template <typename Fallback>
size_t EmitOr(const std::vector<uint8_t>& bytes, uint8_t* data, size_t max_size,
              Fallback fallback) {
  const size_t n = Emit(bytes, data, max_size);
  return n != 0 ? n : fallback();
}

uint64_t HashBytes(absl::Span<const uint8_t> bytes, uint64_t salt) {
  return absl::Hash<std::pair<absl::string_view, uint64_t>>{}(
      {absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), salt});
}

// Workspaces of recent inputs, by a hash of the input: libFuzzer mutates the
// same corpus units again and again, and a workspace costs a decode. A
// workspace depends on its input alone, so the cache changes no output.
class WorkspaceCache {
 public:
  std::shared_ptr<const Workspace> Get(uint64_t key, bool* found) const {
    auto it = entries_.find(key);
    *found = it != entries_.end();
    return *found ? it->second : nullptr;
  }
  void Put(uint64_t key, std::shared_ptr<const Workspace> w) {
    if (entries_.count(key) != 0) return;
    if (order_.size() >= kCapacity) {
      entries_.erase(order_.front());
      order_.erase(order_.begin());
    }
    order_.push_back(key);
    entries_.emplace(key, std::move(w));
  }

 private:
  static constexpr size_t kCapacity = 48;
  std::map<uint64_t, std::shared_ptr<const Workspace>> entries_;
  std::vector<uint64_t> order_;
};

WorkspaceCache& Cache() {
  static WorkspaceCache* cache = new WorkspaceCache();
  return *cache;
}

// The workspace of an ELF input; null if the reader rejects it.
std::shared_ptr<const Workspace> ElfWorkspace(absl::Span<const uint8_t> file) {
  const uint64_t key = HashBytes(file, 0);
  bool found;
  std::shared_ptr<const Workspace> w = Cache().Get(key, &found);
  if (found) return w;
  const Options options = MutatorOptions();
  Diagnostics diag(options);
  LoadedImage loaded = ReadElfImage(file, options, {}, &diag);
  if (diag.ok()) {
    auto loaded_w = std::make_shared<Workspace>();
    Load(*loaded_w, loaded.view, options, key);
    w = std::move(loaded_w);
  }
  Cache().Put(key, w);
  return w;
}

// The workspace of a layer input, with only the layer's pages open to
// mutation (the pool still points anywhere).
std::shared_ptr<const Workspace> LayerWorkspace(Layer layer, absl::Span<const uint8_t> input,
                                                const LayerInput& in) {
  const uint64_t key = HashBytes(input, 1 + static_cast<uint64_t>(layer));
  bool found;
  std::shared_ptr<const Workspace> cached = Cache().Get(key, &found);
  if (found) return cached;
  const LayerBase& base = LayerBases()[in.base];
  LayerImage applied(base);
  applied.Apply(layer, in);
  Options options = MutatorOptions();
  options.pasid_policy = base.options.pasid_policy;
  auto w = std::make_shared<Workspace>();
  Load(*w, applied.view(), options, key);
  std::vector<uint64_t> allowed = base.pages[static_cast<size_t>(layer)];
  std::sort(allowed.begin(), allowed.end());
  w->allowed_pages = std::move(allowed);
  std::vector<Site> kept;
  for (const Site& site : w->sites) {
    if (w->Allowed(site.pa)) kept.push_back(site);
  }
  w->sites = std::move(kept);
  Cache().Put(key, w);
  return w;
}

}  // namespace

// --- MutateBytes -------------------------------------------------------------------

size_t MutateBytes(uint8_t* data, size_t size, size_t max_size, uint64_t seed) {
  Rng rng(seed);
  if (max_size == 0) return 0;
  if (size == 0) {
    data[0] = static_cast<uint8_t>(rng());
    return 1;
  }
  size = std::min(size, max_size);
  const size_t at = Below(rng, size);
  switch (Below(rng, 7)) {
    case 0:
      data[at] ^= static_cast<uint8_t>(1u << Below(rng, 8));
      break;
    case 1: {
      static const uint64_t kValues[] = {0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x1000, ~0ull};
      const uint64_t v = Pick(rng, kValues);
      const size_t n = std::min<size_t>(1u << Below(rng, 4), size - at);
      std::memcpy(data + at, &v, n);
      break;
    }
    case 2:
      data[at] = static_cast<uint8_t>(rng());
      break;
    case 3:  // insert
      if (size < max_size) {
        const size_t n = std::min<size_t>(1 + Below(rng, 16), max_size - size);
        std::memmove(data + at + n, data + at, size - at);
        for (size_t i = 0; i < n; ++i) data[at + i] = static_cast<uint8_t>(rng());
        size += n;
      }
      break;
    case 4: {  // erase
      const size_t n = std::min<size_t>(1 + Below(rng, 16), size - at);
      if (n < size) {
        std::memmove(data + at, data + at + n, size - at - n);
        size -= n;
      }
      break;
    }
    case 5: {  // copy a block within
      const size_t from = Below(rng, size);
      const size_t n = std::min({static_cast<size_t>(1 + Below(rng, 64)), size - from, size - at});
      std::memmove(data + at, data + from, n);
      break;
    }
    default: {  // add to a word
      uint32_t v = 0;
      const size_t n = std::min<size_t>(4, size - at);
      std::memcpy(&v, data + at, n);
      v += static_cast<uint32_t>(Below(rng, 33)) - 16;
      std::memcpy(data + at, &v, n);
    }
  }
  return size;
}

// --- StructureMutator --------------------------------------------------------------

StructureMutator::StructureMutator(Target target, ByteMutator fallback, int structure_percent)
    : target_(target), fallback_(std::move(fallback)), structure_percent_(structure_percent) {}

size_t StructureMutator::Mutate(uint8_t* data, size_t size, size_t max_size, uint64_t seed) {
  Rng rng(seed);
  const TargetInfo& info = GetTargetInfo(target_);
  auto fallback = [&]() {
    stats_.last = "bytes";
    return fallback_(data, size, max_size);
  };
  if (info.format == InputFormat::kFdpModel || size == 0 ||
      static_cast<int>(Below(rng, 100)) >= structure_percent_) {
    return fallback();
  }
  const char* what = "structure";
  if (info.format == InputFormat::kElf) {
    std::vector<uint8_t> file(data, data + size);
    // The ELF reader's target mostly wants ELF-level changes.
    if (OneIn(rng, target_ == Target::kElfReader ? 2 : 10)) {
      if (!MutateElfFile(rng, file, &what)) return fallback();
      stats_.last = what;
      return EmitOr(file, data, max_size, fallback);
    }
    std::shared_ptr<const Workspace> loaded = ElfWorkspace(absl::MakeConstSpan(file));
    if (loaded == nullptr) return fallback();
    Workspace w = *loaded;
    w.set_rng(&rng);
    OptionBytes options = ElfOptionBytes(file);
    bool changed = false;
    if (OneIn(rng, 20)) {
      MutateOptions(rng, options, &what);
      changed = true;
    } else if (OneIn(rng, 5)) {
      changed = MutateModel(w, &what);
    }
    if (!changed) {
      const Site* s = PickSite(rng, w.sites);
      changed = s != nullptr && MutateSite(w, *s, &what);
    }
    if (!changed) return fallback();
    stats_.last = what;
    return EmitOr(ToElf(rng, w.image, options), data, max_size, fallback);
  }

  // Layer inputs: the base, the input's pages, and only those pages change.
  const Layer layer = *LayerOf(target_);
  const std::vector<uint8_t> input(data, data + size);
  LayerInput in = ParseLayerInput(absl::MakeConstSpan(input), layer);
  const std::vector<uint64_t>& pages = LayerBases()[in.base].pages[static_cast<size_t>(layer)];
  Workspace w = *LayerWorkspace(layer, absl::MakeConstSpan(input), in);
  w.set_rng(&rng);
  bool changed = false;
  if (OneIn(rng, 20)) {
    MutateOptions(rng, in.options, &what);
    changed = true;
  } else if (OneIn(rng, 8) && pages.size() > 1) {
    // Whole pages: copy one over another (a table into a spare, ...), or clear one.
    const uint64_t from = Pick(rng, pages), to = Pick(rng, pages);
    absl::Span<uint8_t> dst = w.image.Mutable(to, kPageSize);
    absl::Span<uint8_t> src = w.image.Mutable(from, kPageSize);
    if (!dst.empty() && !src.empty()) {
      if (OneIn(rng, 4)) {
        std::memset(dst.data(), 0, kPageSize);
        what = "page.clear";
      } else {
        std::memcpy(dst.data(), src.data(), kPageSize);
        what = "page.copy";
      }
      changed = true;
    }
  }
  if (!changed) {
    const Site* s = PickSite(rng, w.sites);
    changed = s != nullptr && MutateSite(w, *s, &what);
  }
  if (!changed) return fallback();
  stats_.last = what;
  const ImageView view = w.image.View();
  const std::string out = EncodeLayerInput(layer, in.base, in.options, view);
  return EmitOr(std::vector<uint8_t>(out.begin(), out.end()), data, max_size, fallback);
}

size_t StructureMutator::CrossOver(const uint8_t* data1, size_t size1, const uint8_t* data2,
                                   size_t size2, uint8_t* out, size_t max_out_size, uint64_t seed) {
  Rng rng(seed);
  const TargetInfo& info = GetTargetInfo(target_);
  auto splice = [&]() {
    // Head of one, tail of the other.
    stats_.last = "crossover.splice";
    const size_t head = std::min<size_t>(Below(rng, size1 + 1), max_out_size);
    const size_t from = Below(rng, size2 + 1);
    const size_t tail = std::min(size2 - from, max_out_size - head);
    std::memcpy(out, data1, head);
    std::memcpy(out + head, data2 + from, tail);
    return head + tail;
  };
  // Structural crossovers cost two decodes: a share of them only.
  if (info.format == InputFormat::kFdpModel ||
      static_cast<int>(Below(rng, 200)) >= structure_percent_) {
    return splice();
  }

  if (info.format == InputFormat::kLayer) {
    // Page by page: each page's section from one input or the other, when
    // both start from the same base.
    const Layer layer = *LayerOf(target_);
    const LayerInput a = ParseLayerInput(absl::MakeConstSpan(data1, size1), layer);
    const LayerInput b = ParseLayerInput(absl::MakeConstSpan(data2, size2), layer);
    if (a.base != b.base) return splice();
    std::vector<uint8_t> result(data1, data1 + std::min(size1, kLayerHeaderBytes));
    result.resize(kLayerHeaderBytes, 0);
    const size_t n = std::max(a.sections.size(), b.sections.size());
    for (size_t k = 0; k < n; ++k) {
      const LayerInput& from =
          (k < b.sections.size() && (k >= a.sections.size() || OneIn(rng, 2))) ? b : a;
      const absl::Span<const uint8_t> s = from.sections[k];
      result.push_back(static_cast<uint8_t>(s.size() & 0xff));
      result.push_back(static_cast<uint8_t>(s.size() >> 8));
      result.insert(result.end(), s.begin(), s.end());
    }
    stats_.last = "crossover.pages";
    return EmitOr(result, out, max_out_size, splice);
  }

  // ELF: fields of one handoff's records take the other's values, kind for
  // kind (a device's domain_phys from the other image, its PASID entries, ...).
  std::shared_ptr<const Workspace> la = ElfWorkspace(absl::MakeConstSpan(data1, size1));
  std::shared_ptr<const Workspace> lb = ElfWorkspace(absl::MakeConstSpan(data2, size2));
  if (la == nullptr || lb == nullptr || la->sites.empty() || lb->sites.empty()) return splice();
  Workspace wa = *la;
  Workspace& wb = const_cast<Workspace&>(*lb);  // read only
  int copied = 0;
  const int rounds = 1 + static_cast<int>(Below(rng, 8));
  for (int i = 0; i < rounds; ++i) {
    const Site& to = *PickSite(rng, wa.sites);
    std::vector<const Site*> same;
    for (const Site& site : wb.sites) {
      if (site.kind == to.kind && site.size == to.size) same.push_back(&site);
    }
    if (same.empty()) continue;
    const Site& from = *Pick(rng, same);
    absl::Span<uint8_t> src = wb.image.Mutable(from.pa, from.size);
    absl::Span<uint8_t> dst = wa.image.Mutable(to.pa, to.size);
    std::memcpy(dst.data(), src.data(), to.size);
    ++copied;
  }
  if (copied == 0) return splice();
  stats_.last = "crossover.fields";
  return EmitOr(ToElf(rng, wa.image, ElfOptionBytes(absl::MakeConstSpan(data1, size1))), out,
                max_out_size, splice);
}

// --- Glue entry points ---------------------------------------------------------------

namespace {

StructureMutator& MutatorFor(Target target) {
  static std::map<Target, std::unique_ptr<StructureMutator>>* mutators =
      new std::map<Target, std::unique_ptr<StructureMutator>>();
  auto& m = (*mutators)[target];
  if (m == nullptr) {
    int percent = 40;
    if (const char* env = std::getenv("KHOABI_STRUCTURE_PERCENT")) {
      percent = std::clamp(std::atoi(env), 0, 100);
    }
    // A counter keeps MutateBytes varied when there is no libFuzzer (AFL++
    // custom mutators, tests); libFuzzer's own RNG drives LLVMFuzzerMutate.
    static uint64_t calls = 0;
    ByteMutator fallback = [](uint8_t* d, size_t n, size_t max) -> size_t {
      if (LLVMFuzzerMutate != nullptr) return LLVMFuzzerMutate(d, n, max);
      return MutateBytes(d, n, max, 0x9e3779b97f4a7c15ull * ++calls);
    };
    m = std::make_unique<StructureMutator>(target, std::move(fallback), percent);
  }
  return *m;
}

}  // namespace

size_t CustomMutate(Target target, uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  return MutatorFor(target).Mutate(data, size, max_size, seed);
}

size_t CustomCrossOver(Target target, const uint8_t* data1, size_t size1, const uint8_t* data2,
                       size_t size2, uint8_t* out, size_t max_out_size, unsigned seed) {
  return MutatorFor(target).CrossOver(data1, size1, data2, size2, out, max_out_size, seed);
}

}  // namespace khoabi::fuzz
