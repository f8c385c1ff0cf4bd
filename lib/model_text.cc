#include "lib/model_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace khoabi {

std::string ModelToText(const HandoffModel& m) {
  std::string out;
  absl::StrAppendFormat(&out, "kho %s root_fdt %#x subnodes", KhoVersionName(m.kho.version),
                        m.kho.root_fdt_pa);
  for (const KhoSubnode& s : m.kho.subnodes)
    absl::StrAppendFormat(&out, " %s=%#x", s.name, s.data_pa);
  absl::StrAppendFormat(&out, "\ntracker root %#x, %u pages, %u folios:", m.kho.tracker.root_pa(),
                        m.kho.tracker.page_count(), m.kho.tracker.folios.size());
  for (const Folio& f : m.kho.tracker.folios) absl::StrAppendFormat(&out, " %#x/%u", f.pa, f.order);
  for (const RadixPage& p : m.kho.tracker.radix_pages) {
    absl::StrAppendFormat(&out, "\n  radix level %u prefix %#x at %#x", p.level, p.prefix, p.pa);
  }
  for (const TrackerChunk& c : m.kho.tracker.chunks) {
    absl::StrAppendFormat(&out, "\n  chunk at %#x order %u:", c.pa, c.order);
    for (const TrackerChunk::Entry& e : c.entries) {
      absl::StrAppendFormat(&out, " %#x->%#x", e.phys_start, e.bitmap_pa);
    }
  }
  absl::StrAppendFormat(&out, "\nluo fdt %#x liveupdate-number %u flb_header %#x pgcnt %u",
                        m.luo.fdt_pa, m.luo.liveupdate_number, m.luo.flb_header_pa,
                        m.luo.flb_pgcnt);
  for (const FlbEntry& e : m.luo.flbs) {
    absl::StrAppendFormat(&out, "\n  flb \"%s\" data %#x count %u", e.name(), e.data, e.count);
  }
  for (const BlobFolio& b : m.blobs) {
    absl::StrAppendFormat(&out, "\nblob %#x order %u, %u bytes", b.pa, b.order, b.bytes.size());
  }
  if (m.iommu.has_value()) {
    const IommuModel& io = *m.iommu;
    absl::StrAppendFormat(&out, "\niommu ABI %s flb_ser %#x version %u", IommuAbiName(io.abi),
                          io.flb_ser_pa, io.version);
    auto pages = [&out](const char* name, const std::vector<IommuArrayPage>& ps) {
      absl::StrAppendFormat(&out, "\n  %s:", name);
      for (const IommuArrayPage& p : ps)
        absl::StrAppendFormat(&out, " %#x(%u)", p.pa, p.nr_objects);
    };
    pages("unit pages", io.unit_pages);
    pages("domain pages", io.domain_pages);
    pages("device pages", io.device_pages);
    for (size_t i = 0; i < io.units.size(); ++i) {
      const IommuUnit& u = io.units[i];
      absl::StrAppendFormat(&out, "\n  units[%u] ref %u flags %#x token %#x type %u", i,
                            u.hdr.ref_count, u.hdr.flags, u.token, u.type);
    }
    for (size_t i = 0; i < io.domains.size(); ++i) {
      const IommuDomain& d = io.domains[i];
      absl::StrAppendFormat(&out, "\n  domains[%u] ref %u flags %#x top %#x level %u vasz %u", i,
                            d.hdr.ref_count, d.hdr.flags, d.top_table_phys, d.top_level, d.vasz);
    }
    for (size_t i = 0; i < io.devices.size(); ++i) {
      const IommuDevice& d = io.devices[i];
      absl::StrAppendFormat(&out,
                            "\n  devices[%u] ref %u flags %#x %04x:%04x did %u domain %d unit %d "
                            "pasid_table %#x max %u tables %u stale %u",
                            i, d.hdr.ref_count, d.hdr.flags, d.pci_domain_nr, d.devid,
                            d.attachment_id, d.domain, d.unit, d.pasid_table(io.abi),
                            d.max_pasid(io.abi), d.pasid.tables.size(),
                            d.pasid.stale_dir_entries.size());
    }
  }
  absl::StrAppend(&out, "\n");
  return out;
}

}  // namespace khoabi
