// handoff.h: the model of a whole handoff, and its encoder.
//
// A HandoffModel is everything a preserving kernel leaves behind, fully placed:
// every page has its PA. EncodeHandoff turns it into an Image, byte for byte
// deterministic. The decoder (decoder.h) produces the same type, so
// decode(encode(m)) == m and re-encoding a decoded handoff at the same PAs
// reproduces every claimed folio's bytes.
//
// Models are usually built with HandoffBuilder (handoff_builder.h), which
// plays the preserving kernel.
#ifndef KHOABI_LIB_HANDOFF_H_
#define KHOABI_LIB_HANDOFF_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/image.h"
#include "lib/iommu_model.h"
#include "lib/kho.h"
#include "lib/luo.h"

namespace khoabi {

// A preserved folio with opaque contents (an FLB's data, a page table that is
// out of scope, ...): `bytes` is the whole folio (the encoder zero-pads a
// shorter one).
struct BlobFolio {
  uint64_t pa = 0;
  uint32_t order = 0;
  std::vector<uint8_t> bytes;

  friend bool operator==(const BlobFolio& a, const BlobFolio& b) {
    return a.pa == b.pa && a.order == b.order && a.bytes == b.bytes;
  }
};

struct HandoffModel {
  KhoModel kho;
  LuoModel luo;
  std::vector<BlobFolio> blobs;  // sorted by PA
  std::optional<IommuModel> iommu;

  friend bool operator==(const HandoffModel& a, const HandoffModel& b) {
    return a.kho == b.kho && a.luo == b.luo && a.blobs == b.blobs && a.iommu == b.iommu;
  }
};

// EncodeHandoff writes every page of `m`: the root FDT, the tracker, the LUO
// FDT, the FLB header, the IOMMU records and PASID structures, blobs, and
// zeros for every other preserved folio.
// kInvalidArgument if the model cannot be written (two pages at one PA, a
// folio the tracker cannot hold, more FLB entries than a page holds).
struct EncodeOptions {
  // Write zeros for preserved folios no record describes, so the image holds
  // all preserved memory. Off, the image holds only what records describe
  // (the fuzz oracles re-encode that way: memory linear in the records,
  // where one preserved folio may be gigabytes the image does not hold).
  bool zero_fill_other_folios = true;
};
absl::StatusOr<Image> EncodeHandoff(const HandoffModel& m, const EncodeOptions& options = {});

}  // namespace khoabi

#endif  // KHOABI_LIB_HANDOFF_H_
