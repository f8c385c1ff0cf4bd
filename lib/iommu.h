// iommu.h: the IOMMU live-update records of both ABI versions
// (spec/iommu-abi.md), encoder and decoder side by side.
#ifndef KHOABI_LIB_IOMMU_H_
#define KHOABI_LIB_IOMMU_H_

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "lib/decode_context.h"
#include "lib/handoff.h"
#include "lib/iommu_model.h"
#include "lib/luo.h"

namespace khoabi {

// IommuAbiFromName: the ABI an FLB entry name selects, if any.
std::optional<IommuAbi> IommuAbiFromName(absl::string_view name);

// The policy a decode of `abi` applies for `requested` (kAbiDefault: A ->
// kNoPasidOnly, B -> kAllPresent).
PasidPolicy EffectivePolicy(IommuAbi abi, PasidPolicy requested);

// EncodeIommu writes iommu_flb_ser, the three array lists and every device's
// PASID directory and tables. kInvalidArgument if the model cannot be written
// (more objects in a page than it holds, objects not matching the pages).
absl::Status EncodeIommu(const IommuModel& m, ImageBuilder& builder);

// DecodeIommu restores the IOMMU state the FLB entry `entry` (named for
// `abi`) points at: claims iommu_flb_ser, walks the array lists claiming each
// page, resolves cross-references, claims root tables, top tables and PASID
// structures, and checks every record. Opaque claimed folios (root tables,
// top tables) are appended to `blobs`. Returns false if an error was reported.
bool DecodeIommu(IommuAbi abi, const FlbEntry& entry, DecodeContext& ctx, IommuModel* out,
                 std::vector<BlobFolio>* blobs);

}  // namespace khoabi

#endif  // KHOABI_LIB_IOMMU_H_
