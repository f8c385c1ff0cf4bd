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
absl::StatusOr<Image> EncodeHandoff(const HandoffModel& m);

// EncodeHandoffRecords is EncodeHandoff without the zeros of preserved folios
// no record writes: every page that carries data, and only those. Its memory
// is linear in the records, where one preserved folio may be gigabytes (a
// decoded handoff may preserve folios its image does not hold), so re-encoding
// checks (oracle.h) use it.
absl::StatusOr<Image> EncodeHandoffRecords(const HandoffModel& m);

}  // namespace khoabi

#endif  // KHOABI_LIB_HANDOFF_H_
