#include "lib/oracle.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "abi/iommu.h"
#include "abi/vtd_pasid.h"
#include "absl/strings/str_format.h"
#include "lib/iommu.h"

namespace khoabi {
namespace {

absl::Status Broken(const char* what, uint64_t pa) {
  return absl::InternalError(absl::StrFormat("accepted, yet %s (pa %#x)", what, pa));
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
    if (d.hdr.deleted() || d.unit == kNoObject) continue;
    const uint64_t dir = d.pasid_table(io.abi);
    if (dir == 0 || io.units[static_cast<size_t>(d.unit)].type != IOMMU_SER_TYPE_INTEL) continue;
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
  // Preserved folios do not overlap.
  for (size_t i = 1; i < preserved.size(); ++i) {
    const Folio& p = preserved[i - 1];
    if (p.order > 52 || preserved[i].pa - p.pa < FolioBytes(std::min<uint32_t>(p.order, 51))) {
      return Broken("preserved folios overlap", preserved[i].pa);
    }
  }
  // Tracker pages: in the image, each its own page, none inside a preserved
  // folio (metadata is no restorable memory).
  std::vector<uint64_t> tracker_pages;
  for (const RadixPage& p : m.kho.tracker.radix_pages) tracker_pages.push_back(p.pa);
  for (const TrackerChunk& c : m.kho.tracker.chunks) {
    tracker_pages.push_back(c.pa);
    for (const TrackerChunk::Entry& e : c.entries) tracker_pages.push_back(e.bitmap_pa);
  }
  std::sort(tracker_pages.begin(), tracker_pages.end());
  for (size_t i = 0; i < tracker_pages.size(); ++i) {
    const uint64_t pa = tracker_pages[i];
    if ((pa & (kPageSize - 1)) != 0 || !reader.Contains(pa, kPageSize))
      return Broken("a tracker page is not a page of the image", pa);
    if (i > 0 && tracker_pages[i - 1] == pa) return Broken("two tracker pages share a page", pa);
    auto it = std::upper_bound(preserved.begin(), preserved.end(), Folio{pa, ~0u});
    if (it != preserved.begin()) {
      const Folio& f = *std::prev(it);
      if (f.order > 52 || pa - f.pa < FolioBytes(std::min<uint32_t>(f.order, 51)))
        return Broken("a tracker page lies inside a preserved folio", pa);
    }
  }
  if (m.luo.flbs.size() > 63)
    return Broken("more FLB entries than a page holds", m.luo.flb_header_pa);
  if (preserved.size() > options.max_folios) return Broken("more folios than max_folios", 0);
  if (m.kho.tracker.page_count() > options.max_tracker_pages) {
    return Broken("more tracker pages than max_tracker_pages", m.kho.tracker.page_count());
  }
  if (!m.iommu.has_value()) {
    if (options.require_iommu) return Broken("no IOMMU state, yet it is required", 0);
    return absl::OkStatus();
  }

  const IommuModel& io = *m.iommu;
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
    for (size_t k = 0; k < list.pages->size(); ++k) {
      const IommuArrayPage& p = (*list.pages)[k];
      if (p.nr_objects > list.capacity) return Broken("nr_objects exceeds the page", p.pa);
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

  // References land on live objects of the right type, at their PA.
  for (size_t i = 0; i < io.devices.size(); ++i) {
    const IommuDevice& d = io.devices[i];
    if (d.hdr.deleted()) continue;
    const IommuDomain* dom = io.DomainOf(d);
    const IommuUnit* unit = io.UnitOf(d);
    if (dom == nullptr || unit == nullptr)
      return Broken("a live device has no domain or unit", d.domain_phys);
    if (dom->hdr.deleted() || unit->hdr.deleted())
      return Broken("a live device uses a deleted object", d.domain_phys);
    if (io.ObjectPa(IommuObjectKind::kDomain, static_cast<size_t>(d.domain)) != d.domain_phys ||
        io.ObjectPa(IommuObjectKind::kUnit, static_cast<size_t>(d.unit)) != d.iommu_phys) {
      return Broken("a reference does not match the object it resolves to", d.domain_phys);
    }
    for (size_t j = 0; j < i; ++j) {
      const IommuDevice& o = io.devices[j];
      if (!o.hdr.deleted() && o.devid == d.devid && o.pci_domain_nr == d.pci_domain_nr) {
        return Broken("two live devices share an id", d.domain_phys);
      }
    }
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
      for (uint32_t e = 0; e < VTD_PASID_TBL_ENTRIES; ++e) {
        const pasid_entry pe = t.entries.Get(e);
        if (vtd_pe_present(&pe) && (vtd_pasid_entry_problems(&pe) & ~allowed_entry_problems) != 0) {
          return Broken("a present PASID entry is malformed", t.pa() + 64 * e);
        }
      }
      last = t.dir_index;
      first = false;
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
  absl::StatusOr<Image> again = EncodeHandoff(m);
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
  for (const RadixPage& p : m.kho.tracker.radix_pages) pages.push_back({p.pa, 0});
  for (const TrackerChunk& c : m.kho.tracker.chunks) {
    pages.push_back({c.pa, 0});
    for (const TrackerChunk::Entry& e : c.entries) pages.push_back({e.bitmap_pa, 0});
  }
  for (const Folio& f : pages) {
    const uint64_t bytes = FolioBytes(std::min<uint32_t>(f.order, 30));
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

  // A walk of the program headers of our own.
  Elf64_Ehdr eh;
  if (file.size() < sizeof eh) return broken("the file has no ELF header", file.size());
  std::memcpy(&eh, file.data(), sizeof eh);
  const uint64_t table = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  if (eh.e_phoff > file.size() || table > file.size() - eh.e_phoff) {
    return broken("the program headers are not in the file", eh.e_phoff);
  }
  ImageReader reader(view);
  uint64_t described = 0;
  std::optional<uint64_t> root;
  for (uint64_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, file.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type == PT_NOTE) {
      if (ph.p_offset > file.size() || ph.p_filesz > file.size() - ph.p_offset) continue;
      for (uint64_t pos = 0; ph.p_filesz - pos >= 12 && !root.has_value();) {
        uint32_t nh[3];
        std::memcpy(nh, file.data() + ph.p_offset + pos, sizeof nh);
        const uint64_t name = (uint64_t{nh[0]} + 3) & ~uint64_t{3};
        const uint64_t desc = (uint64_t{nh[1]} + 3) & ~uint64_t{3};
        if (name + desc > ph.p_filesz - pos - 12) break;
        const uint8_t* at = file.data() + ph.p_offset + pos + 12;
        if (nh[0] == 4 && std::memcmp(at, "KHO", 4) == 0 && nh[2] == 1 && nh[1] == 8) {
          uint64_t pa;
          std::memcpy(&pa, at + name, 8);
          root = pa;
        }
        pos += 12 + name + desc;
      }
      continue;
    }
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    described += ph.p_memsz;
    if (ph.p_offset > file.size() || ph.p_filesz > file.size() - ph.p_offset) {
      return broken("a PT_LOAD outside the file was taken", ph.p_offset);
    }
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
  if (root.has_value() != loaded.has_root || (root.has_value() && *root != view.root_pa)) {
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
