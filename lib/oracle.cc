#include "lib/oracle.h"

#include <elf.h>
#include <libfdt.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "abi/iommu.h"
#include "abi/kexec_handover.h"
#include "abi/luo.h"
#include "abi/vtd_pasid.h"
#include "absl/strings/str_format.h"
#include "lib/iommu.h"

namespace khoabi {
namespace {

absl::Status Broken(const char* what, uint64_t pa) {
  return absl::InternalError(absl::StrFormat("accepted, yet %s (pa %#x)", what, pa));
}

using u128 = unsigned __int128;

// One past the last byte of a folio, without wrapping (orders above 52 are
// clamped: they are broken anyway, and the callers say so first).
u128 End(uint64_t pa, uint32_t order) {
  return static_cast<u128>(pa) + (static_cast<u128>(1) << (std::min<uint32_t>(order, 52) + 12));
}

bool ValidIndex(int32_t i, size_t n) { return i >= 0 && static_cast<size_t>(i) < n; }

// The Intel unit a device resolves to, or nullptr (no unit, an index out of
// range, or another type): the oracle checks indexes before it uses them.
const IommuUnit* IntelUnitOf(const IommuModel& io, const IommuDevice& d) {
  if (!ValidIndex(d.unit, io.units.size())) return nullptr;
  const IommuUnit& u = io.units[static_cast<size_t>(d.unit)];
  return u.type == IOMMU_SER_TYPE_INTEL ? &u : nullptr;
}

// Names the IOMMU family claims (spec/iommu-abi.md: "iommu-liveupdate" and
// its suffixed versions, and the earlier posting's "iommu-v1"). An entry of
// the family that is neither ABI is an IOMMU state nobody can restore.
bool IommuFamilyName(const std::string& name) {
  return name.compare(0, std::strlen(IOMMU_B_FLB_COMPATIBLE), IOMMU_B_FLB_COMPATIBLE) == 0 ||
         name == "iommu-v1";
}

// CheckDirectory walks a device's PASID directory in the image, apart from
// the decoder: every present entry is a table of the model (and of this
// entry), every other non-zero entry a stale one it lists; no entry has bits
// 11:2 set; and under the NO_PASID-only policy only dir[0] and PASID 0 are
// present, and both are.
absl::Status CheckDirectory(const ImageReader& reader, const IommuDevice& d, IommuAbi abi,
                            PasidPolicy policy, uint64_t* tables) {
  const uint64_t dir = d.pasid_table(abi);
  const uint64_t entries = vtd_pasid_dir_entries(d.max_pasid(abi));
  const int order = vtd_pasid_stored_max_order(d.max_pasid(abi));
  if (order < 0 || (dir & (kPageSize - 1)) != 0) return Broken("a malformed PASID directory", dir);
  absl::Span<const uint8_t> bytes = reader.Bytes(dir, entries * 8);
  if (bytes.empty()) return Broken("a PASID directory outside the image", dir);
  size_t next_table = 0, next_stale = 0;
  for (uint32_t i = 0; i < entries; ++i) {
    uint64_t pde;
    std::memcpy(&pde, bytes.data() + 8 * i, 8);
    if (pde == 0) continue;
    if (pde & VTD_PDE_RESERVED) return Broken("a directory entry has bits 11:2 set", dir + 8 * i);
    if (!(pde & VTD_PDE_PRESENT)) {
      const auto& stale = d.pasid.stale_dir_entries;
      if (next_stale >= stale.size() || stale[next_stale] != std::make_pair(i, pde)) {
        return Broken("a stale directory entry the model does not list", dir + 8 * i);
      }
      ++next_stale;
      continue;
    }
    const auto& t = d.pasid.tables;
    if (next_table >= t.size() || t[next_table].dir_index != i || t[next_table].pde != pde) {
      return Broken("a present directory entry the model has no table for", dir + 8 * i);
    }
    ++next_table;
    ++*tables;
    if (policy == PasidPolicy::kNoPasidOnly && i != 0) {
      return Broken("NO_PASID only, yet a directory entry other than 0 is present", dir + 8 * i);
    }
  }
  if (next_table != d.pasid.tables.size() || next_stale != d.pasid.stale_dir_entries.size()) {
    return Broken("the model lists directory entries the directory does not hold", dir);
  }
  if (policy == PasidPolicy::kNoPasidOnly) {
    const PasidTable* t0 = d.pasid.TableFor(0);
    if (t0 == nullptr) return Broken("NO_PASID only, yet dir[0] is not present", dir);
    absl::Span<const uint8_t> table = reader.Bytes(t0->pa(), kPageSize);
    if (table.empty()) return Broken("a PASID table outside the image", t0->pa());
    for (uint32_t e = 0; e < VTD_PASID_TBL_ENTRIES; ++e) {
      uint64_t q0;
      std::memcpy(&q0, table.data() + 64 * e, 8);
      if ((e == 0) != ((q0 & VTD_PE0_PRESENT) != 0)) {
        return Broken("NO_PASID only, yet PASID 0 is absent or another PASID present",
                      t0->pa() + 64 * e);
      }
    }
  }
  return absl::OkStatus();
}

// --- FDT pages and the FLB header, read apart from the decoder ---------------

// The u64 property `name` of `node`: 8 bytes, or nullopt.
std::optional<uint64_t> U64Property(const void* fdt, int node, const char* name) {
  int len = 0;
  const void* v = fdt_getprop(fdt, node, name, &len);
  if (v == nullptr || len != 8) return std::nullopt;
  uint64_t out;
  std::memcpy(&out, v, 8);
  return out;
}

// The node's compatible string list holds `want`; unterminated only if lenient.
bool Compatible(const void* fdt, int node, const char* want, bool strict) {
  int len = 0;
  const char* v = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
  if (v == nullptr || len <= 0) return false;
  if (v[len - 1] != '\0' && strict) return false;
  for (int at = 0; at < len;) {
    int end = at;
    while (end < len && v[end] != '\0') ++end;
    if (std::string_view(v + at, static_cast<size_t>(end - at)) == want) return true;
    at = end + 1;
  }
  return false;
}

// Checks an FDT page the way fdt_check_full and this project's rules want it:
// header, structure, depth, no duplicate names. Returns the page or an error.
absl::Status CheckFdtPage(const ImageReader& reader, uint64_t pa, const Options& options,
                          std::vector<uint8_t>* page) {
  absl::Span<const uint8_t> bytes = reader.Bytes(pa, kPageSize);
  if (bytes.empty()) return Broken("an FDT page is not in the image", pa);
  page->assign(bytes.begin(), bytes.end());
  const void* fdt = page->data();
  if (fdt_magic(fdt) != FDT_MAGIC || fdt_version(fdt) < 17 || fdt_last_comp_version(fdt) > 17 ||
      fdt_totalsize(fdt) > kPageSize || fdt_check_full(fdt, kPageSize) != 0) {
    return Broken("an FDT fails the full check", pa);
  }
  int depth = 0;
  for (int node = 0; node >= 0 && depth >= 0; node = fdt_next_node(fdt, node, &depth)) {
    if (static_cast<uint32_t>(depth) >= options.max_fdt_depth) {
      return Broken("an FDT nests deeper than max_fdt_depth", pa);
    }
    std::set<std::string> names;
    int prop;
    fdt_for_each_property_offset(prop, fdt, node) {
      const char* name = nullptr;
      if (fdt_getprop_by_offset(fdt, prop, &name, nullptr) == nullptr || name == nullptr ||
          !names.insert(name).second) {
        return Broken("an FDT node has a property twice", pa);
      }
    }
    names.clear();
    int child;
    fdt_for_each_subnode(child, fdt, node) {
      const char* name = fdt_get_name(fdt, child, nullptr);
      if (name == nullptr || !names.insert(name).second) {
        return Broken("an FDT node has two children of one name", pa);
      }
    }
  }
  return absl::OkStatus();
}

// The KHO root FDT and the LUO FDT say what the model says.
absl::Status CheckFdts(const ImageReader& reader, const HandoffModel& m, const Options& options) {
  std::vector<uint8_t> page;
  if (absl::Status s = CheckFdtPage(reader, m.kho.root_fdt_pa, options, &page); !s.ok()) return s;
  const void* root = page.data();
  const bool v1 = m.kho.version == KhoVersion::kV1;
  if (!Compatible(root, 0, v1 ? KHO_V1_FDT_COMPATIBLE : KHO_V2_FDT_COMPATIBLE, options.strict)) {
    return Broken("the KHO root FDT is not compatible with its version", m.kho.root_fdt_pa);
  }
  const std::optional<uint64_t> map = U64Property(root, 0, KHO_PROP_PRESERVED_MEMORY_MAP);
  if (!map.has_value() || *map == 0 || *map != m.kho.tracker.root_pa()) {
    return Broken("preserved-memory-map is not the tracker's root", m.kho.root_fdt_pa);
  }
  const int luo = fdt_subnode_offset(root, 0, LUO_KHO_NODE_NAME);
  const std::optional<uint64_t> luo_pa =
      luo < 0 ? std::nullopt
              : U64Property(root, luo, v1 ? KHO_V1_PROP_SUB_FDT : KHO_V2_PROP_SUB_DATA);
  if (!luo_pa.has_value() || *luo_pa == 0 || *luo_pa != m.luo.fdt_pa) {
    return Broken("the KHO root's LUO node does not point at the LUO FDT", m.kho.root_fdt_pa);
  }
  if (absl::Status s = CheckFdtPage(reader, m.luo.fdt_pa, options, &page); !s.ok()) return s;
  const void* fdt = page.data();
  const int flb = fdt_subnode_offset(fdt, 0, LUO_FDT_FLB_NODE_NAME);
  const std::optional<uint64_t> number = U64Property(fdt, 0, LUO_FDT_PROP_LIVEUPDATE_NUMBER);
  const std::optional<uint64_t> header =
      flb < 0 ? std::nullopt : U64Property(fdt, flb, LUO_FDT_FLB_PROP_HEADER);
  if (!Compatible(fdt, 0, LUO_FDT_COMPATIBLE, options.strict) || flb < 0 ||
      !Compatible(fdt, flb, LUO_FDT_FLB_COMPATIBLE, options.strict) || !number.has_value() ||
      *number != m.luo.liveupdate_number || !header.has_value() || *header == 0 ||
      *header != m.luo.flb_header_pa) {
    return Broken("the LUO FDT does not say what the model says", m.luo.fdt_pa);
  }
  return absl::OkStatus();
}

// The FLB header page: one page, entries that fit, named, unique, and at most
// one IOMMU entry, which is the model's.
absl::Status CheckFlbHeader(const ImageReader& reader, const HandoffModel& m) {
  const uint64_t pa = m.luo.flb_header_pa;
  luo_flb_header_ser hdr;
  if (!reader.ReadObject(pa, &hdr)) return Broken("the FLB header is not in the image", pa);
  if (hdr.pgcnt != 1 || m.luo.flb_pgcnt != 1) return Broken("the FLB header's pgcnt is not 1", pa);
  if (hdr.count > LUO_FLB_ENTRIES_PER_PAGE || hdr.count != m.luo.flbs.size()) {
    return Broken("the FLB header's count is not the model's, or too large", pa);
  }
  std::set<std::string> names;
  int iommu_entries = 0, unknown_iommu_entries = 0;
  for (size_t i = 0; i < hdr.count; ++i) {
    luo_flb_ser e;
    reader.ReadObject(pa + sizeof hdr + i * sizeof e, &e);
    const void* nul = std::memchr(e.name, '\0', sizeof e.name);
    if (nul == nullptr) return Broken("an FLB name has no NUL", pa);
    const std::string name(e.name);
    if (!names.insert(name).second) return Broken("two FLB entries have one name", pa);
    const bool a = name == IOMMU_A_FLB_COMPATIBLE, b = name == IOMMU_B_FLB_COMPATIBLE;
    if (!a && !b) {
      unknown_iommu_entries += IommuFamilyName(name) ? 1 : 0;
      continue;
    }
    ++iommu_entries;
    if (!m.iommu.has_value() || e.data != m.iommu->flb_ser_pa ||
        (a ? IommuAbi::kA : IommuAbi::kB) != m.iommu->abi) {
      return Broken("the IOMMU FLB entry is not the model's IOMMU state", pa);
    }
  }
  if (iommu_entries > 1) return Broken("more than one IOMMU FLB entry", pa);
  // Beside a known entry an unknown one is ignored (the kernel looks its
  // entry up by name); alone it is state nobody restores.
  if (iommu_entries == 0 && unknown_iommu_entries != 0) {
    return Broken("an FLB entry names an unknown IOMMU ABI", pa);
  }
  if (m.iommu.has_value() && iommu_entries != 1) {
    return Broken("IOMMU state without its FLB entry", pa);
  }
  return absl::OkStatus();
}

// --- IOMMU records: every field rule, read from the model --------------------

// iommu_flb_ser as the image holds it (not the decoder's copy): ABI B's
// version is 1, and each list head is the PA of the list's first page, 0
// only for an empty ABI A list.
absl::Status CheckFlbSer(const ImageReader& reader, const IommuModel& io) {
  uint64_t heads[3];
  if (io.abi == IommuAbi::kA) {
    iommu_flb_ser_a r;
    if (!reader.ReadObject(io.flb_ser_pa, &r))
      return Broken("iommu_flb_ser is not in the image", io.flb_ser_pa);
    heads[0] = r.iommu_array_phys;
    heads[1] = r.iommu_domain_array_phys;
    heads[2] = r.device_array_phys;
  } else {
    iommu_flb_ser_b r;
    if (!reader.ReadObject(io.flb_ser_pa, &r))
      return Broken("iommu_flb_ser is not in the image", io.flb_ser_pa);
    if (r.version != IOMMU_B_FLB_VERSION) {
      return Broken("ABI B's version in the image is not 1", io.flb_ser_pa);
    }
    heads[0] = r.iommu_array_phys;
    heads[1] = r.iommu_domain_array_phys;
    heads[2] = r.device_array_phys;
  }
  const std::vector<IommuArrayPage>* lists[3] = {&io.unit_pages, &io.domain_pages,
                                                 &io.device_pages};
  for (int k = 0; k < 3; ++k) {
    const uint64_t first = lists[k]->empty() ? 0 : lists[k]->front().pa;
    if (heads[k] != first || (io.abi == IommuAbi::kB && heads[k] == 0)) {
      return Broken("an iommu_flb_ser list head is not its list's first page", io.flb_ser_pa);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRecords(const IommuModel& io, const Options& options) {
  auto flags_ok = [](const IommuHeader& h) { return (h.flags & ~IOMMU_SER_FLAG_DELETED) == 0; };
  if (io.abi == IommuAbi::kB) {
    if (io.version != IOMMU_B_FLB_VERSION) return Broken("ABI B's version is not 1", io.flb_ser_pa);
    if (io.unit_pages.empty() || io.domain_pages.empty() || io.device_pages.empty()) {
      return Broken("an ABI B array list head is 0", io.flb_ser_pa);
    }
  }
  std::set<std::pair<uint64_t, uint64_t>> unit_keys;
  for (const IommuUnit& u : io.units) {
    if (!flags_ok(u.hdr)) return Broken("a unit has flags other than DELETED", u.token);
    if (u.hdr.deleted()) continue;
    if (!unit_keys.insert({u.type, u.token}).second) {
      return Broken("two live units share type and token", u.token);
    }
    if (u.type == IOMMU_SER_TYPE_ARM_SMMUV3) {
      for (size_t i = sizeof(iommu_smmuv3_hw_ser); i < u.arch.size(); ++i) {
        if (u.arch[i] != 0) return Broken("an SMMUv3 unit has bytes past its arm", u.token);
      }
      continue;
    }
    const iommu_intel_ser intel = u.intel();
    if (intel.restored != 0) return Broken("a unit's restored flag is set", u.token);
    if (options.strict) {
      for (uint8_t b : intel.padding) {
        if (b != 0) return Broken("a unit's padding is not zero", u.token);
      }
    }
  }
  for (const IommuDomain& d : io.domains) {
    if (!flags_ok(d.hdr)) return Broken("a domain has flags other than DELETED", d.top_table_phys);
    if (d.hdr.deleted()) continue;
    if (d.restored_domain != 0)
      return Broken("a domain's restored_domain is set", d.top_table_phys);
    if (!options.strict) continue;
    const bool sign_ok = io.abi == IommuAbi::kA ? (d.sign_extend & ~IOMMU_A_DOMAIN_SIGN_EXTEND) == 0
                                                : d.sign_extend <= 1;
    const bool padding_ok =
        io.abi == IommuAbi::kA || (d.padding[0] | d.padding[1] | d.padding[2]) == 0;
    if (!sign_ok || !padding_ok)
      return Broken("a domain's reserved bits are set", d.top_table_phys);
  }
  for (const IommuDevice& d : io.devices) {
    if (!flags_ok(d.hdr)) return Broken("a device has flags other than DELETED", d.domain_phys);
    if (d.hdr.deleted()) continue;
    if (!ValidIndex(d.unit, io.units.size()))
      return Broken("a live device has no unit", d.iommu_phys);
    const IommuUnit& unit = io.units[static_cast<size_t>(d.unit)];
    if (unit.type == IOMMU_SER_TYPE_ARM_SMMUV3) {
      if (options.strict && d.smmuv3().padding != 0) {
        return Broken("an SMMUv3 device's padding is not zero", d.domain_phys);
      }
      continue;
    }
    if (d.intel_restored(io.abi) != 0) return Broken("a device's restored flag is set", 0);
    if (options.strict && io.abi == IommuAbi::kB) {
      for (size_t i = 1; i < 8; ++i) {
        if (d.arch[i] != 0) return Broken("a device's padding is not zero", d.domain_phys);
      }
    }
    if ((d.pasid_table(io.abi) == 0) != (d.max_pasid(io.abi) == 0)) {
      return Broken("a device has a PASID directory or a size, not both", d.pasid_table(io.abi));
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

absl::Status CheckAcceptedInvariants(const ImageView& image, const HandoffModel& m) {
  return CheckAcceptedInvariants(image, m, Options{});
}

absl::Status CheckAcceptedInvariants(const ImageView& image, const HandoffModel& m,
                                     const Options& options) {
  ImageReader reader(image);
  if (image.total_bytes() > options.max_image_bytes) {
    return Broken("the image is larger than max_image_bytes", image.total_bytes());
  }
  const std::vector<Folio>& preserved = m.kho.tracker.folios;  // sorted
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
  // Preserved folios do not overlap, and none runs past 2^64.
  for (size_t i = 0; i < preserved.size(); ++i) {
    const Folio& p = preserved[i];
    if (p.order > 52) return Broken("a preserved folio of an order above 52", p.pa);
    if (i + 1 < preserved.size() && End(p.pa, p.order) > preserved[i + 1].pa)
      return Broken("preserved folios overlap", preserved[i + 1].pa);
    if (End(p.pa, p.order) > static_cast<u128>(1) << 64)
      return Broken("a preserved folio runs past 2^64", p.pa);
  }
  // Tracker pages: in the image, each its own page, none inside a preserved
  // folio (metadata is no restorable memory).
  std::vector<uint64_t> tracker_pages = m.kho.tracker.page_pas();
  std::sort(tracker_pages.begin(), tracker_pages.end());
  for (size_t i = 0; i < tracker_pages.size(); ++i) {
    const uint64_t pa = tracker_pages[i];
    if ((pa & (kPageSize - 1)) != 0 || !reader.Contains(pa, kPageSize))
      return Broken("a tracker page is not a page of the image", pa);
    if (i > 0 && tracker_pages[i - 1] == pa) return Broken("two tracker pages share a page", pa);
    auto it = std::upper_bound(preserved.begin(), preserved.end(), Folio{pa, ~0u});
    if (it != preserved.begin()) {
      const Folio& f = *std::prev(it);
      if (End(f.pa, f.order) > pa)
        return Broken("a tracker page lies inside a preserved folio", pa);
    }
  }
  if (m.luo.flbs.size() > 63)
    return Broken("more FLB entries than a page holds", m.luo.flb_header_pa);
  if (preserved.size() > options.max_folios) return Broken("more folios than max_folios", 0);
  if (m.kho.tracker.page_count() > options.max_tracker_pages) {
    return Broken("more tracker pages than max_tracker_pages", m.kho.tracker.page_count());
  }
  if (absl::Status s = CheckFdts(reader, m, options); !s.ok()) return s;
  if (absl::Status s = CheckFlbHeader(reader, m); !s.ok()) return s;
  if (!m.iommu.has_value()) {
    if (options.require_iommu) return Broken("no IOMMU state, yet it is required", 0);
    return absl::OkStatus();
  }

  const IommuModel& io = *m.iommu;
  if (absl::Status s = CheckRecords(io, options); !s.ok()) return s;
  if (absl::Status s = CheckFlbSer(reader, io); !s.ok()) return s;
  const IommuAbiLayout& l = LayoutOf(io.abi);
  // Counts fit their pages; the pages account for exactly the objects; each
  // page's header links to the next.
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
  // The options: which ABI, which PASID policy, which limits.
  if (!(io.abi == IommuAbi::kA ? options.accept_iommu_a : options.accept_iommu_b)) {
    return Broken("accepted an IOMMU ABI the options refuse", io.flb_ser_pa);
  }
  for (const auto* pages : {&io.unit_pages, &io.domain_pages, &io.device_pages}) {
    if (pages->size() > options.max_chain_pages) {
      return Broken("an array list longer than max_chain_pages", pages->front().pa);
    }
  }
  if (io.units.size() > options.max_objects || io.domains.size() > options.max_objects ||
      io.devices.size() > options.max_objects) {
    return Broken("more objects of a type than max_objects", 0);
  }
  const PasidPolicy policy = EffectivePolicy(io.abi, options.pasid_policy);
  // Lenient decodes accept non-zero qwords 3-7 (a strict reason).
  const unsigned allowed_entry_problems = options.strict ? 0u : VTD_PE_BAD_HIGH_QWORDS;
  uint64_t live_devices = 0, pasid_tables = 0;
  std::set<std::pair<uint32_t, uint32_t>> device_ids;

  // References land on live objects of the right type, at their PA.
  for (size_t i = 0; i < io.devices.size(); ++i) {
    const IommuDevice& d = io.devices[i];
    if (d.hdr.deleted()) continue;
    if (!ValidIndex(d.domain, io.domains.size()) || !ValidIndex(d.unit, io.units.size()))
      return Broken("a live device has no domain or unit", d.domain_phys);
    const IommuDomain* dom = &io.domains[static_cast<size_t>(d.domain)];
    const IommuUnit* unit = &io.units[static_cast<size_t>(d.unit)];
    if (dom->hdr.deleted() || unit->hdr.deleted())
      return Broken("a live device uses a deleted object", d.domain_phys);
    if (io.ObjectPa(IommuObjectKind::kDomain, static_cast<size_t>(d.domain)) != d.domain_phys ||
        io.ObjectPa(IommuObjectKind::kUnit, static_cast<size_t>(d.unit)) != d.iommu_phys) {
      return Broken("a reference does not match the object it resolves to", d.domain_phys);
    }
    if (!device_ids.insert({d.pci_domain_nr, d.devid}).second)
      return Broken("two live devices share an id", d.domain_phys);
    if (d.hdr.flags & ~IOMMU_SER_FLAG_DELETED)
      return Broken("a live device has flags set", d.domain_phys);
    // PASID: every table within the directory, in order; walking every
    // entry through the accessors reads only the table's page.
    const uint64_t entries = vtd_pasid_dir_entries(d.max_pasid(io.abi));
    uint32_t last = 0;
    bool first = true;
    for (const PasidTable& t : d.pasid.tables) {
      if (t.dir_index >= entries || (!first && t.dir_index <= last))
        return Broken("PASID tables out of order", t.pa());
      if (!(t.pde & VTD_PDE_PRESENT))
        return Broken("a PASID table from a non-present entry", t.pa());
      uint64_t stored;
      if (!reader.ReadU64(d.pasid_table(io.abi) + 8ull * t.dir_index, &stored) || stored != t.pde) {
        return Broken("a PASID table is not what the directory says", t.pa());
      }
      absl::Span<const uint8_t> table = reader.Bytes(t.pa(), kPageSize);
      if (table.empty()) return Broken("a PASID table outside the image", t.pa());
      for (uint32_t e = 0; e < VTD_PASID_TBL_ENTRIES; ++e) {
        const pasid_entry pe = t.entries.Get(e);
        if (std::memcmp(&pe, table.data() + 64 * e, sizeof pe) != 0)
          return Broken("the result's PASID entry differs from the image", t.pa() + 64 * e);
        if (vtd_pe_present(&pe) && (vtd_pasid_entry_problems(&pe) & ~allowed_entry_problems) != 0) {
          return Broken("a present PASID entry is malformed", t.pa() + 64 * e);
        }
      }
      last = t.dir_index;
      first = false;
    }
    if ((unit->type != IOMMU_SER_TYPE_INTEL || d.pasid_table(io.abi) == 0) &&
        (!d.pasid.tables.empty() || !d.pasid.stale_dir_entries.empty())) {
      return Broken("PASID tables or directory entries without a PASID directory", d.domain_phys);
    }
    if (unit->type == IOMMU_SER_TYPE_INTEL && d.pasid_table(io.abi) != 0) {
      if (absl::Status s = CheckDirectory(reader, d, io.abi, policy, &pasid_tables); !s.ok()) {
        return s;
      }
    }
    ++live_devices;
  }
  if (live_devices > options.max_devices) return Broken("more live devices than max_devices", 0);
  if (pasid_tables > options.max_pasid_tables) {
    return Broken("more PASID tables than max_pasid_tables", pasid_tables);
  }
  for (const IommuUnit& u : io.units) {
    if (u.hdr.deleted()) continue;
    if (u.type != IOMMU_SER_TYPE_INTEL &&
        !(io.abi == IommuAbi::kB && u.type == IOMMU_SER_TYPE_ARM_SMMUV3)) {
      return Broken("a live unit of an unknown type", 0);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckReencode(const ImageView& image, const HandoffModel& m) {
  // The pages records write; not the zeros of unused folios, which may be
  // gigabytes a handoff preserves but its image does not hold.
  EncodeOptions encode;
  encode.zero_fill_other_folios = false;
  absl::StatusOr<Image> again = EncodeHandoff(m, encode);
  if (!again.ok()) {
    return absl::InternalError(
        absl::StrFormat("accepted, yet not re-encodable: %s", again.status().message()));
  }
  ImageView view = again->View();
  ImageReader original(image), reencoded(view);
  // Every folio in use, and the tracker's pages: the tracker written from the
  // decoded folios must be the tracker that was read, or a folio was lost or
  // made up on the way.
  std::vector<Folio> pages = FoliosInUse(m);
  for (uint64_t pa : m.kho.tracker.page_pas()) pages.push_back({pa, 0});
  for (const Folio& f : pages) {
    if (f.order > 30) return Broken("a folio in use is larger than any record", f.pa);
    const uint64_t bytes = FolioBytes(f.order);
    absl::Span<const uint8_t> a = original.Bytes(f.pa, bytes);
    absl::Span<const uint8_t> b = reencoded.Bytes(f.pa, bytes);
    if (a.empty() || b.empty()) return Broken("a folio in use is missing after re-encoding", f.pa);
    if (!std::equal(a.begin(), a.end(), b.begin())) {
      const size_t at =
          static_cast<size_t>(std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin());
      return absl::InternalError(absl::StrFormat(
          "accepted, yet re-encoding changes byte %u of the order-%u page at %#x (%#x -> %#x)", at,
          f.order, f.pa, a[at], b[at]));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckElfImage(absl::Span<const uint8_t> file, const LoadedImage& loaded,
                           const Options& options) {
  auto broken = [](const char* what, uint64_t at) {
    return absl::InternalError(absl::StrFormat("ELF accepted, yet %s (%#x)", what, at));
  };
  const ImageView& view = loaded.view;
  // The view's own contract.
  uint64_t total = 0;
  for (size_t i = 0; i < view.segments.size(); ++i) {
    const SegmentView& s = view.segments[i];
    if (s.bytes.empty()) return broken("a segment is empty", s.pa);
    if (s.bytes.size() - 1 > ~s.pa) return broken("a segment wraps around", s.pa);
    if (i > 0) {
      const SegmentView& p = view.segments[i - 1];
      const uint64_t end = p.pa + p.bytes.size();  // 0: it ends at 2^64
      if (end == 0 || end >= s.pa)
        return broken("segments overlap, touch or are out of order", s.pa);
    }
    auto inside = [&s](absl::Span<const uint8_t> owner) {
      return !owner.empty() && s.bytes.data() >= owner.data() &&
             s.bytes.data() + s.bytes.size() <= owner.data() + owner.size();
    };
    bool owned = inside(file);
    for (const std::vector<uint8_t>& o : loaded.owned) owned = owned || inside(o);
    if (!owned) return broken("a segment's bytes belong to neither the file nor the image", s.pa);
    total += s.bytes.size();
  }
  if (total > options.max_image_bytes) return broken("more memory than max_image_bytes", total);

  // A walk of the header and program headers of our own: an ELF64
  // little-endian x86-64 core file, a well-formed table, every PT_LOAD inside
  // the file with p_filesz <= p_memsz and no wrap, every note well formed,
  // one KHO note (two only when lenient) with an 8-byte descriptor.
  Elf64_Ehdr eh;
  if (file.size() < sizeof eh) return broken("the file has no ELF header", file.size());
  std::memcpy(&eh, file.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_ident[EI_VERSION] != EV_CURRENT) {
    return broken("the file is not ELF64 little-endian version 1", 0);
  }
  if (eh.e_type != ET_CORE || eh.e_machine != EM_X86_64) {
    return broken("the file is not an x86-64 core file", eh.e_type);
  }
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM) {
    return broken("the program header table is malformed", eh.e_phnum);
  }
  const uint64_t table = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  if (eh.e_phoff > file.size() || table > file.size() - eh.e_phoff) {
    return broken("the program headers are not in the file", eh.e_phoff);
  }
  ImageReader reader(view);
  uint64_t described = 0;
  std::optional<uint64_t> root;
  int kho_notes = 0;
  for (uint64_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, file.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    const bool in_file = ph.p_offset <= file.size() && ph.p_filesz <= file.size() - ph.p_offset;
    if (ph.p_type == PT_NOTE) {
      if (!in_file) return broken("a PT_NOTE outside the file", ph.p_offset);
      for (uint64_t pos = 0; pos < ph.p_filesz;) {
        if (ph.p_filesz - pos < 12) return broken("a note header runs past its segment", pos);
        uint32_t nh[3];
        std::memcpy(nh, file.data() + ph.p_offset + pos, sizeof nh);
        const uint64_t name = (uint64_t{nh[0]} + 3) & ~uint64_t{3};
        const uint64_t desc = (uint64_t{nh[1]} + 3) & ~uint64_t{3};
        if (name + desc > ph.p_filesz - pos - 12)
          return broken("a note runs past its segment", pos);
        const uint8_t* at = file.data() + ph.p_offset + pos + 12;
        if (nh[0] == 4 && std::memcmp(at, "KHO", 4) == 0 && nh[2] == kKhoNoteType) {
          if (nh[1] != 8) return broken("a KHO note's descriptor is not 8 bytes", nh[1]);
          if (++kho_notes == 1) {
            uint64_t pa;
            std::memcpy(&pa, at + name, 8);
            root = pa;
          }
        }
        pos += 12 + name + desc;
      }
      continue;
    }
    if (ph.p_type != PT_LOAD) continue;
    if (!in_file || ph.p_filesz > ph.p_memsz || (ph.p_paddr != 0 && ph.p_memsz > ~ph.p_paddr + 1)) {
      return broken("a malformed PT_LOAD was taken", ph.p_offset);
    }
    if (ph.p_memsz == 0) continue;
    described += ph.p_memsz;
    if (reader.Bytes(ph.p_paddr, ph.p_memsz).empty()) {
      return broken("a PT_LOAD's memory is not in the image", ph.p_paddr);
    }
    if (ph.p_filesz != 0) {
      absl::Span<const uint8_t> in_image = reader.Bytes(ph.p_paddr, ph.p_filesz);
      if (!std::equal(in_image.begin(), in_image.end(), file.begin() + ph.p_offset)) {
        return broken("a PT_LOAD's bytes differ from the file's", ph.p_paddr);
      }
    }
    if (ph.p_memsz > ph.p_filesz) {
      absl::Span<const uint8_t> fill =
          reader.Bytes(ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz);
      if (std::any_of(fill.begin(), fill.end(), [](uint8_t b) { return b != 0; })) {
        return broken("memory past p_filesz is not zero", ph.p_paddr + ph.p_filesz);
      }
    }
  }
  if (described != total) return broken("the image holds memory no PT_LOAD describes", total);
  if (kho_notes == 0) return broken("no KHO note gives the root", 0);
  if (kho_notes > 1 && options.strict) return broken("two KHO notes", kho_notes);
  if (!loaded.has_root || *root != view.root_pa) {
    return broken("the root PA is not the first KHO note's", view.root_pa);
  }

  // Writing the image out again reads back the same.
  std::vector<Image::Segment> segments;
  for (const SegmentView& s : view.segments) {
    segments.push_back({s.pa, std::vector<uint8_t>(s.bytes.begin(), s.bytes.end())});
  }
  absl::StatusOr<Image> image = Image::FromSegments(view.root_pa, std::move(segments));
  if (!image.ok()) return broken("the segments make no image", 0);
  const std::string again = WriteElfImage(*image);
  Diagnostics diag(options);
  LoadedImage reread = ReadElfImage(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(again.data()), again.size()), options,
      {}, &diag);
  if (!diag.ok()) return broken("the image written out again is rejected", 0);
  if (reread.view.root_pa != view.root_pa || reread.view.segments.size() != view.segments.size()) {
    return broken("the image written out again reads back differently", reread.view.root_pa);
  }
  for (size_t i = 0; i < view.segments.size(); ++i) {
    const SegmentView &a = view.segments[i], &b = reread.view.segments[i];
    if (a.pa != b.pa ||
        !std::equal(a.bytes.begin(), a.bytes.end(), b.bytes.begin(), b.bytes.end())) {
      return broken("the image written out again reads back differently", a.pa);
    }
  }
  return absl::OkStatus();
}

}  // namespace khoabi
