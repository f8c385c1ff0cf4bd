// handoff_builder.h: the preserving kernel, as a factory of handoff models.
//
// HandoffBuilder allocates pages from a deterministic PageAllocator, preserves
// folios, registers FLBs, and on Finish lays out what a kernel writes at
// kexec time: the KHO root FDT, the LUO FDT and the FLB header page (each a
// preserved order-0 folio), and the tracker in the chosen KHO format.
//
// Example:
//   HandoffBuilder b({.kho_version = KhoVersion::kV1});
//   uint64_t data = b.PreserveNew(0);
//   b.AddFlb("example-flb-v1", data, 1);
//   absl::StatusOr<HandoffModel> m = std::move(b).Finish();
#ifndef KHOABI_LIB_HANDOFF_BUILDER_H_
#define KHOABI_LIB_HANDOFF_BUILDER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/handoff.h"
#include "lib/page_allocator.h"

namespace khoabi {

class HandoffBuilder {
 public:
  struct Config {
    KhoVersion kho_version = KhoVersion::kV2;
    PageAllocator::Config memory;
    uint64_t liveupdate_number = 1;
  };

  HandoffBuilder() : HandoffBuilder(Config{}) {}
  explicit HandoffBuilder(const Config& config);

  // Alloc allocates 2^order pages that are not preserved (0 after an error;
  // errors are sticky and returned by Finish).
  uint64_t Alloc(unsigned order);
  // PreserveNew allocates and preserves a folio that no record of the
  // handoff restores (another subsystem's memory, an opaque FLB's data); the
  // encoder writes zeros there.
  uint64_t PreserveNew(unsigned order);
  // PreserveBlob allocates and preserves a folio with opaque contents that a
  // record restores (a domain's top page table, a root table): `bytes`,
  // zero-padded. The decoder hands such folios back as blobs.
  uint64_t PreserveBlob(unsigned order, std::vector<uint8_t> bytes = {});
  // PreserveBlobAt preserves an allocated folio as a blob (see PreserveBlob).
  void PreserveBlobAt(uint64_t pa, unsigned order, std::vector<uint8_t> bytes);
  // Preserve marks an allocated folio as preserved; its bytes are written by
  // another layer's encoder (IOMMU arrays, PASID tables) or are zero.
  void Preserve(uint64_t pa, unsigned order);
  // Unpreserve undoes Preserve (or a blob's preservation) of the folio at pa.
  void Unpreserve(uint64_t pa);

  // AddFlb registers an FLB entry (name at most 47 characters).
  void AddFlb(absl::string_view name, uint64_t data, uint64_t count = 1);

  // Fail records an error that Finish will return (for layered builders).
  void Fail(absl::Status status);
  const absl::Status& status() const { return status_; }

  HandoffModel& model() { return model_; }
  PageAllocator& allocator() { return allocator_; }

  // Finish lays out the FDTs, the FLB header and the tracker.
  absl::StatusOr<HandoffModel> Finish() &&;

 private:
  Config config_;
  PageAllocator allocator_;
  HandoffModel model_;
  std::vector<Folio> preserved_;
  absl::Status status_;
};

}  // namespace khoabi

#endif  // KHOABI_LIB_HANDOFF_BUILDER_H_
