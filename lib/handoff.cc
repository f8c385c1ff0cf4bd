#include "lib/handoff.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "lib/iommu.h"

namespace khoabi {

namespace {

absl::StatusOr<Image> Encode(const HandoffModel& m, bool zero_folios) {
  ImageBuilder builder;
  auto put = [&builder](uint64_t pa, absl::StatusOr<std::vector<uint8_t>> page,
                        const char* what) -> absl::Status {
    if (!page.ok()) return page.status();
    if (absl::Status s = builder.Put(pa, *std::move(page)); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: %s", what, s.message()));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = put(m.kho.root_fdt_pa, BuildKhoRootFdt(m.kho), "KHO root FDT"); !s.ok()) {
    return s;
  }
  if (absl::Status s = put(m.luo.fdt_pa, BuildLuoFdt(m.luo), "LUO FDT"); !s.ok()) return s;
  if (absl::Status s = put(m.luo.flb_header_pa, BuildFlbHeaderPage(m.luo), "FLB header"); !s.ok()) {
    return s;
  }
  for (const BlobFolio& b : m.blobs) {
    if (b.order > 30 || b.bytes.size() > FolioBytes(b.order)) {
      return absl::InvalidArgumentError(absl::StrFormat("blob at %#x: %u bytes do not fit order %u",
                                                        b.pa, b.bytes.size(), b.order));
    }
    std::vector<uint8_t> bytes = b.bytes;
    bytes.resize(FolioBytes(b.order), 0);
    if (absl::Status s = put(b.pa, std::move(bytes), "blob"); !s.ok()) return s;
  }
  if (m.iommu.has_value()) {
    if (absl::Status s = EncodeIommu(*m.iommu, builder); !s.ok()) return s;
  }
  if (absl::Status s = EncodeTracker(m.kho.tracker, builder); !s.ok()) return s;
  // Every other preserved folio is memory too: zero-filled.
  const std::vector<Folio> none;
  for (const Folio& f : zero_folios ? m.kho.tracker.folios : none) {
    if (builder.Has(f.pa) || f.order > 30) continue;
    if (absl::Status s = builder.PutZero(f.pa, FolioBytes(f.order)); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("preserved folio at %#x: %s", f.pa, s.message()));
    }
  }
  return std::move(builder).Build(m.kho.root_fdt_pa);
}

}  // namespace

absl::StatusOr<Image> EncodeHandoff(const HandoffModel& m) { return Encode(m, true); }

absl::StatusOr<Image> EncodeHandoffRecords(const HandoffModel& m) { return Encode(m, false); }

}  // namespace khoabi
