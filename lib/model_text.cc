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
  absl::StrAppend(&out, "\n");
  return out;
}

}  // namespace khoabi
