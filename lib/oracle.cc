#include "lib/oracle.h"

#include <libfdt.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "abi/iommu.h"
#include "abi/kexec_handover.h"
#include "abi/luo.h"
#include "abi/vtd_pasid.h"
#include "absl/strings/str_format.h"
#include "lib/iommu.h"

namespace khoabi {
namespace {

using u128 = unsigned __int128;

absl::Status Broken(const char* what, uint64_t pa) {
  return absl::InternalError(absl::StrFormat("accepted, yet %s (pa %#x)", what, pa));
}

u128 End(uint64_t pa, uint32_t order) {
  return static_cast<u128>(pa) + (static_cast<u128>(1) << (std::min<uint32_t>(order, 52) + 12));
}

bool ValidIndex(int32_t i, size_t n) { return i >= 0 && static_cast<size_t>(i) < n; }

// The Intel unit a live device resolves to, or nullptr.
const IommuUnit* IntelUnitOf(const IommuModel& io, const IommuDevice& d) {
  if (!ValidIndex(d.unit, io.units.size())) return nullptr;
  const IommuUnit& u = io.units[static_cast<size_t>(d.unit)];
  return u.type == IOMMU_SER_TYPE_INTEL ? &u : nullptr;
}

// Object PAs of one kind, from the pages alone.
std::vector<uint64_t> ObjectPas(const std::vector<IommuArrayPage>& pages, uint32_t size) {
  std::vector<uint64_t> out;
  for (const IommuArrayPage& p : pages) {
    for (uint64_t i = 0; i < p.nr_objects; ++i)
      out.push_back(p.pa + sizeof(iommu_array_hdr_ser) + i * size);
  }
  return out;
}

// A one-page FDT of the image, checked by libfdt, or empty.
bool ReadFdt(const ImageReader& reader, uint64_t pa, std::vector<uint8_t>* page) {
  page->assign(kPageSize, 0);
  if (!reader.Read(pa, page->data(), kPageSize)) return false;
  return fdt_check_full(page->data(), kPageSize) == 0;
}

bool U64Prop(const void* fdt, int node, const char* name, uint64_t* v) {
  int len = 0;
  const void* p = fdt_getprop(fdt, node, name, &len);
  if (p == nullptr || len != 8) return false;
  std::memcpy(v, p, 8);
  return true;
}

absl::Status CheckFdtLayers(const ImageReader& reader, const HandoffModel& m) {
  std::vector<uint8_t> root, luo;
  if (!ReadFdt(reader, m.kho.root_fdt_pa, &root))
    return Broken("the root FDT does not pass fdt_check_full", m.kho.root_fdt_pa);
  const char* want =
      m.kho.version == KhoVersion::kV1 ? KHO_V1_FDT_COMPATIBLE : KHO_V2_FDT_COMPATIBLE;
  if (fdt_node_check_compatible(root.data(), 0, want) != 0)
    return Broken("the root FDT's compatible is not the model's version", m.kho.root_fdt_pa);
  uint64_t map = 0;
  if (!U64Prop(root.data(), 0, KHO_PROP_PRESERVED_MEMORY_MAP, &map) ||
      map != m.kho.tracker.root_pa()) {
    return Broken("preserved-memory-map is not the tracker root", m.kho.root_fdt_pa);
  }
  const int node = fdt_subnode_offset(root.data(), 0, LUO_KHO_NODE_NAME);
  uint64_t luo_pa = 0;
  if (node < 0 || !U64Prop(root.data(), node, KhoSubnodeDataProperty(m.kho.version), &luo_pa) ||
      luo_pa != m.luo.fdt_pa) {
    return Broken("the LUO node does not point at the LUO FDT", m.kho.root_fdt_pa);
  }
  if (!ReadFdt(reader, m.luo.fdt_pa, &luo))
    return Broken("the LUO FDT does not pass fdt_check_full", m.luo.fdt_pa);
  if (fdt_node_check_compatible(luo.data(), 0, LUO_FDT_COMPATIBLE) != 0)
    return Broken("the LUO FDT is not luo-v1", m.luo.fdt_pa);
  const int flb = fdt_subnode_offset(luo.data(), 0, LUO_FDT_FLB_NODE_NAME);
  uint64_t header = 0;
  if (flb < 0 || fdt_node_check_compatible(luo.data(), flb, LUO_FDT_FLB_COMPATIBLE) != 0 ||
      !U64Prop(luo.data(), flb, LUO_FDT_FLB_PROP_HEADER, &header) ||
      header != m.luo.flb_header_pa) {
    return Broken("luo-flb does not point at the FLB header", m.luo.fdt_pa);
  }
  // The FLB header page itself.
  uint64_t hdr[2];
  if (!reader.Read(m.luo.flb_header_pa, hdr, sizeof hdr))
    return Broken("the FLB header is not readable", m.luo.flb_header_pa);
  if (hdr[0] != 1 || hdr[1] != m.luo.flbs.size() || m.luo.flbs.size() > LUO_FLB_ENTRIES_PER_PAGE) {
    return Broken("the FLB header's pgcnt or count is wrong", m.luo.flb_header_pa);
  }
  std::set<std::string> names;
  for (const FlbEntry& e : m.luo.flbs) {
    if (std::memchr(e.name_bytes.data(), 0, e.name_bytes.size()) == nullptr)
      return Broken("an FLB name has no NUL", m.luo.flb_header_pa);
    if (!names.insert(std::string(e.name())).second)
      return Broken("two FLB entries share a name", m.luo.flb_header_pa);
  }
  return absl::OkStatus();
}

absl::Status CheckPasid(const ImageReader& reader, const IommuModel& io, const IommuDevice& d,
                        PasidPolicy policy, bool strict) {
  const uint64_t dir = d.pasid_table(io.abi), max = d.max_pasid(io.abi);
  if (dir == 0 && max == 0) {
    if (!d.pasid.tables.empty() || !d.pasid.stale_dir_entries.empty())
      return Broken("PASID tables without a directory", 0);
    return absl::OkStatus();
  }
  if (dir == 0 || max == 0 || (dir & (kPageSize - 1)) != 0)
    return Broken("pasid_table and max_pasid disagree", dir);
  if (vtd_pasid_stored_max_order(max) < 0) return Broken("max_pasid is not a stored value", dir);
  // Walk the directory in the image and match it with the result.
  const uint64_t entries = vtd_pasid_dir_entries(max);
  size_t t = 0, s = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    uint64_t pde;
    if (!reader.ReadU64(dir + 8 * i, &pde))
      return Broken("the PASID directory is not readable", dir);
    if (pde == 0) continue;
    if (pde & VTD_PDE_PRESENT) {
      if (t >= d.pasid.tables.size() || d.pasid.tables[t].dir_index != i ||
          d.pasid.tables[t].pde != pde) {
        return Broken("a present directory entry has no table in the result", dir + 8 * i);
      }
      if (policy == PasidPolicy::kNoPasidOnly && i != 0)
        return Broken("NO_PASID only, yet a second directory entry", dir + 8 * i);
      ++t;
    } else {
      if (s >= d.pasid.stale_dir_entries.size() || d.pasid.stale_dir_entries[s].first != i ||
          d.pasid.stale_dir_entries[s].second != pde) {
        return Broken("a stale directory entry is missing from the result", dir + 8 * i);
      }
      ++s;
    }
  }
  if (t != d.pasid.tables.size() || s != d.pasid.stale_dir_entries.size())
    return Broken("the result has tables the directory does not", dir);
  bool pasid0 = false;
  for (const PasidTable& table : d.pasid.tables) {
    if (table.pde & VTD_PDE_RESERVED)
      return Broken("a table behind a malformed directory entry", table.pa());
    for (uint32_t e = 0; e < VTD_PASID_TBL_ENTRIES; ++e) {
      pasid_entry image_entry;
      if (!reader.Read(table.pa() + 64ull * e, &image_entry, sizeof image_entry))
        return Broken("a PASID table is not readable", table.pa());
      if (!(image_entry == table.entries.Get(e)))
        return Broken("the result's PASID entry differs from the image", table.pa() + 64ull * e);
      if (!vtd_pe_present(&image_entry)) continue;
      unsigned bad = vtd_pasid_entry_problems(&image_entry);
      if (!strict) bad &= ~VTD_PE_BAD_HIGH_QWORDS;
      if (bad != 0) return Broken("a present PASID entry is malformed", table.pa() + 64ull * e);
      const uint32_t pasid = (table.dir_index << VTD_PASID_PDE_SHIFT) | e;
      if (pasid == 0) pasid0 = true;
      if (policy == PasidPolicy::kNoPasidOnly && pasid != 0)
        return Broken("NO_PASID only, yet another PASID is present", table.pa() + 64ull * e);
    }
  }
  if (policy == PasidPolicy::kNoPasidOnly && !pasid0)
    return Broken("NO_PASID only, yet PASID 0 is not present", dir);
  return absl::OkStatus();
}

absl::Status CheckIommu(const ImageReader& reader, const HandoffModel& m,
                        const OracleOptions& options) {
  const IommuModel& io = *m.iommu;
  const IommuAbiLayout& l = LayoutOf(io.abi);
  int entries = 0;
  for (const FlbEntry& e : m.luo.flbs) {
    if (!IommuAbiFromName(e.name()).has_value()) continue;
    ++entries;
    if (*IommuAbiFromName(e.name()) != io.abi || e.data != io.flb_ser_pa)
      return Broken("the IOMMU FLB entry does not point at the result", e.data);
  }
  if (entries != 1) return Broken("not exactly one IOMMU FLB entry", m.luo.flb_header_pa);
  if (io.abi == IommuAbi::kB) {
    iommu_flb_ser_b r;
    if (!reader.Read(io.flb_ser_pa, &r, sizeof r))
      return Broken("iommu_flb_ser is not readable", io.flb_ser_pa);
    if (r.version != IOMMU_B_FLB_VERSION) return Broken("ABI B version is not 1", io.flb_ser_pa);
    if (r.iommu_array_phys == 0 || r.iommu_domain_array_phys == 0 || r.device_array_phys == 0)
      return Broken("an ABI B list head is 0", io.flb_ser_pa);
  }
  // Pages: counts fit, headers link to the next, objects and pages agree.
  struct List {
    const std::vector<IommuArrayPage>* pages;
    size_t objects;
    uint32_t capacity;
  };
  for (const List& list : {List{&io.unit_pages, io.units.size(), l.units_per_page},
                           List{&io.domain_pages, io.domains.size(), l.domains_per_page},
                           List{&io.device_pages, io.devices.size(), l.devices_per_page}}) {
    size_t total = 0;
    std::set<uint64_t> seen;
    for (size_t k = 0; k < list.pages->size(); ++k) {
      const IommuArrayPage& p = (*list.pages)[k];
      if (p.nr_objects > list.capacity) return Broken("nr_objects exceeds the page", p.pa);
      if (!seen.insert(p.pa).second) return Broken("a list visits a page twice", p.pa);
      uint64_t hdr[2];
      if (!reader.Read(p.pa, hdr, sizeof hdr)) return Broken("an array page is not readable", p.pa);
      const uint64_t next = k + 1 < list.pages->size() ? (*list.pages)[k + 1].pa : 0;
      if (hdr[0] != next || hdr[1] != p.nr_objects)
        return Broken("an array header disagrees", p.pa);
      total += p.nr_objects;
    }
    if (total != list.objects) return Broken("objects and pages disagree", 0);
  }
  const std::vector<uint64_t> unit_pas = ObjectPas(io.unit_pages, l.unit_size);
  const std::vector<uint64_t> domain_pas = ObjectPas(io.domain_pages, l.domain_size);
  // Objects: flags, restore-only fields, types, duplicates.
  std::set<std::pair<uint64_t, uint64_t>> unit_keys;
  for (size_t i = 0; i < io.units.size(); ++i) {
    const IommuUnit& u = io.units[i];
    if (u.hdr.flags != 0 && u.hdr.flags != IOMMU_SER_FLAG_DELETED)
      return Broken("a unit has flags other than DELETED", unit_pas[i]);
    if (u.hdr.deleted()) continue;
    const bool smmu = io.abi == IommuAbi::kB && u.type == IOMMU_SER_TYPE_ARM_SMMUV3;
    if (u.type != IOMMU_SER_TYPE_INTEL && !smmu)
      return Broken("a live unit of an unknown type", unit_pas[i]);
    if (u.type == IOMMU_SER_TYPE_INTEL && u.intel().restored != 0)
      return Broken("a unit is marked restored", unit_pas[i]);
    if (!unit_keys.insert({u.type, u.token}).second)
      return Broken("two live units share type and token", unit_pas[i]);
  }
  for (size_t i = 0; i < io.domains.size(); ++i) {
    const IommuDomain& d = io.domains[i];
    if (d.hdr.flags != 0 && d.hdr.flags != IOMMU_SER_FLAG_DELETED)
      return Broken("a domain has flags other than DELETED", domain_pas[i]);
    if (!d.hdr.deleted() && d.restored_domain != 0)
      return Broken("a domain carries restored_domain", domain_pas[i]);
  }
  std::set<std::pair<uint32_t, uint32_t>> device_ids;
  for (const IommuDevice& d : io.devices) {
    if (d.hdr.flags != 0 && d.hdr.flags != IOMMU_SER_FLAG_DELETED)
      return Broken("a device has flags other than DELETED", d.domain_phys);
    if (d.hdr.deleted()) continue;
    if (!ValidIndex(d.domain, io.domains.size()) || !ValidIndex(d.unit, io.units.size())) {
      return Broken("a live device has no domain or unit", d.domain_phys);
    }
    const IommuDomain& dom = io.domains[static_cast<size_t>(d.domain)];
    const IommuUnit& unit = io.units[static_cast<size_t>(d.unit)];
    if (dom.hdr.deleted() || unit.hdr.deleted())
      return Broken("a live device uses a deleted object", d.domain_phys);
    if (domain_pas[static_cast<size_t>(d.domain)] != d.domain_phys ||
        unit_pas[static_cast<size_t>(d.unit)] != d.iommu_phys) {
      return Broken("a reference does not match the object it resolves to", d.domain_phys);
    }
    if (!device_ids.insert({d.pci_domain_nr, d.devid}).second)
      return Broken("two live devices share an id", d.domain_phys);
    if (unit.type == IOMMU_SER_TYPE_INTEL) {
      if (d.intel_restored(io.abi) != 0)
        return Broken("a device is marked restored", d.domain_phys);
      absl::Status s =
          CheckPasid(reader, io, d, EffectivePolicy(io.abi, options.policy), options.strict);
      if (!s.ok()) return s;
    } else if (!d.pasid.tables.empty()) {
      return Broken("PASID tables on a non-Intel device", d.domain_phys);
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<Folio> FoliosInUse(const HandoffModel& m) {
  std::vector<Folio> out = {{m.kho.root_fdt_pa, 0}, {m.luo.fdt_pa, 0}, {m.luo.flb_header_pa, 0}};
  if (!m.iommu.has_value()) return out;
  const IommuModel& io = *m.iommu;
  out.push_back({io.flb_ser_pa, 0});
  for (const auto* pages : {&io.unit_pages, &io.domain_pages, &io.device_pages}) {
    for (const IommuArrayPage& p : *pages) out.push_back({p.pa, 0});
  }
  for (const IommuUnit& u : io.units) {
    if (!u.hdr.deleted() && u.type == IOMMU_SER_TYPE_INTEL)
      out.push_back({u.intel().root_table, 0});
  }
  for (const IommuDomain& d : io.domains) {
    if (!d.hdr.deleted() && d.top_table_phys != 0) out.push_back({d.top_table_phys, 0});
  }
  for (const IommuDevice& d : io.devices) {
    if (d.hdr.deleted() || IntelUnitOf(io, d) == nullptr) continue;
    const uint64_t dir = d.pasid_table(io.abi);
    if (dir == 0) continue;
    const int order = vtd_pasid_stored_max_order(d.max_pasid(io.abi));
    out.push_back({dir, static_cast<uint32_t>(order < 0 ? 99 : order)});
    for (const PasidTable& t : d.pasid.tables) out.push_back({t.pa(), 0});
  }
  return out;
}

absl::Status CheckAcceptedInvariants(const ImageView& image, const HandoffModel& m,
                                     const OracleOptions& options) {
  ImageReader reader(image);
  const std::vector<Folio>& preserved = m.kho.tracker.folios;  // sorted
  for (size_t i = 1; i < preserved.size(); ++i) {
    const Folio& p = preserved[i - 1];
    if (p.order > 52 || End(p.pa, p.order) > preserved[i].pa)
      return Broken("preserved folios overlap", preserved[i].pa);
  }
  if (!preserved.empty() &&
      End(preserved.back().pa, preserved.back().order) > (static_cast<u128>(1) << 64)) {
    return Broken("a preserved folio runs past 2^64", preserved.back().pa);
  }
  // Every folio in use: preserved with that order, in the image, used once.
  std::set<uint64_t> used;
  for (const Folio& f : FoliosInUse(m)) {
    auto it = std::lower_bound(preserved.begin(), preserved.end(), Folio{f.pa, 0});
    if (it == preserved.end() || it->pa != f.pa)
      return Broken("a record points at no preserved folio", f.pa);
    if (it->order != f.order) return Broken("a folio has another order than its user needs", f.pa);
    if (!reader.Contains(f.pa, FolioBytes(f.order)))
      return Broken("a folio in use is not in the image", f.pa);
    if (!used.insert(f.pa).second) return Broken("two records use one folio", f.pa);
  }
  // Tracker pages: whole pages in the image, distinct, and not preserved.
  std::vector<uint64_t> tracker;
  for (const RadixPage& p : m.kho.tracker.radix_pages) tracker.push_back(p.pa);
  for (const TrackerChunk& c : m.kho.tracker.chunks) {
    tracker.push_back(c.pa);
    for (const TrackerChunk::Entry& e : c.entries) tracker.push_back(e.bitmap_pa);
  }
  std::sort(tracker.begin(), tracker.end());
  for (size_t i = 0; i < tracker.size(); ++i) {
    if ((tracker[i] & (kPageSize - 1)) != 0 || !reader.Contains(tracker[i], kPageSize))
      return Broken("a tracker page is not a whole page of the image", tracker[i]);
    if (i > 0 && tracker[i] == tracker[i - 1])
      return Broken("a tracker page is used twice", tracker[i]);
    auto it = std::upper_bound(preserved.begin(), preserved.end(), Folio{tracker[i], 64});
    if (it != preserved.begin() && End(std::prev(it)->pa, std::prev(it)->order) > tracker[i]) {
      return Broken("a tracker page is preserved memory", tracker[i]);
    }
  }
  if (absl::Status s = CheckFdtLayers(reader, m); !s.ok()) return s;
  if (m.iommu.has_value()) return CheckIommu(reader, m, options);
  return absl::OkStatus();
}

absl::Status CheckReencode(const ImageView& image, const HandoffModel& m) {
  EncodeOptions encode;
  encode.zero_fill_other_folios = false;  // only what records describe is compared
  absl::StatusOr<Image> again = EncodeHandoff(m, encode);
  if (!again.ok()) {
    return absl::InternalError(
        absl::StrFormat("accepted, yet not re-encodable: %s", again.status().message()));
  }
  ImageView view = again->View();
  ImageReader original(image), reencoded(view);
  for (const Folio& f : FoliosInUse(m)) {
    if (f.order > 30) return Broken("a folio in use is larger than any record", f.pa);
    const uint64_t bytes = FolioBytes(f.order);
    absl::Span<const uint8_t> a = original.Bytes(f.pa, bytes);
    absl::Span<const uint8_t> b = reencoded.Bytes(f.pa, bytes);
    if (a.empty() || b.empty()) return Broken("a folio in use is missing after re-encoding", f.pa);
    if (!std::equal(a.begin(), a.end(), b.begin())) {
      const size_t at =
          static_cast<size_t>(std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin());
      return absl::InternalError(absl::StrFormat(
          "accepted, yet re-encoding changes byte %u of the order-%u folio at %#x (%#x -> %#x)", at,
          f.order, f.pa, a[at], b[at]));
    }
  }
  return absl::OkStatus();
}

}  // namespace khoabi
