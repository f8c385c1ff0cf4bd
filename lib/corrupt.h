// corrupt.h: named ways to corrupt a valid handoff, one per class of corrupt
// data in spec/validation.md.
//
// Each class starts from a valid handoff model, changes exactly one thing
// (in the model, in the encoded bytes, or in the ELF file), and names the
// reason a hardened decoder must report and where. The table-driven corruption
// tests, `khoabi corrupt` and the demo all use this one list.
//
// Example:
//   const CorruptionClass* c = FindCorruption("iommu_chain_cycle");
//   absl::StatusOr<std::string> elf = ApplyCorruption(*c, valid_model);
#ifndef KHOABI_LIB_CORRUPT_H_
#define KHOABI_LIB_CORRUPT_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/handoff.h"
#include "lib/options.h"
#include "lib/page_allocator.h"
#include "lib/reason.h"

namespace khoabi {

// Corrupter: a valid model plus the edits of one corruption.
class Corrupter {
 public:
  explicit Corrupter(HandoffModel valid);

  HandoffModel& model() { return model_; }
  // The IOMMU model, or FailedPrecondition.
  absl::StatusOr<IommuModel*> iommu();

  // Patch writes `bytes` at `pa` of the encoded image (after encoding).
  void Patch(uint64_t pa, std::vector<uint8_t> bytes) {
    patches_.push_back({pa, std::move(bytes), /*or_bits=*/false});
  }
  template <typename T>
  void PatchValue(uint64_t pa, T value) {
    std::vector<uint8_t> b(sizeof value);
    std::memcpy(b.data(), &value, sizeof value);
    Patch(pa, std::move(b));
  }
  // OrByte sets bits of the byte at `pa` of the encoded image.
  void OrByte(uint64_t pa, uint8_t mask) { patches_.push_back({pa, {mask}, /*or_bits=*/true}); }
  // EditFile changes the ELF file after it is written.
  void EditFile(std::function<absl::Status(std::string&)> edit) {
    file_edits_.push_back(std::move(edit));
  }
  // WriteFileWith replaces how the image becomes a file.
  void WriteFileWith(std::function<std::string(const Image&)> writer) {
    writer_ = std::move(writer);
  }
  // AddFolio preserves a new folio of `order` above all memory of the handoff
  // (re-planning the tracker) and returns its PA. `in_image` false leaves its
  // bytes out of the image.
  absl::StatusOr<uint64_t> AddFolio(unsigned order, bool in_image = true);

  // Finish encodes, patches and writes the corrupted ELF file.
  absl::StatusOr<std::string> Finish();

 private:
  struct PatchOp {
    uint64_t pa;
    std::vector<uint8_t> bytes;
    bool or_bits;  // OR into the image instead of overwriting
  };
  HandoffModel model_;
  std::vector<PatchOp> patches_;
  std::vector<std::function<absl::Status(std::string&)>> file_edits_;
  std::function<std::string(const Image&)> writer_;
  std::vector<uint64_t> outside_image_;
  bool allocator_ready_ = false;
  PageAllocator allocator_;
};

struct CorruptionClass {
  const char* name;         // stable, e.g. "iommu_chain_cycle"
  const char* layer;        // elf, fdt, luo, tracker, claims, iommu, pasid
  const char* description;  // what is changed
  Reason expected;          // the reason a decoder must report
  const char* path;         // where: prefix of the problem's path ("" = anywhere)
  // The policy the decode must apply for the class to make sense:
  // kNoPasidOnly classes apply to handoffs decoded under that policy.
  PasidPolicy policy = PasidPolicy::kAbiDefault;
  // Apply edits the Corrupter; FailedPrecondition if the handoff lacks what
  // the class needs (an IOMMU FLB, ABI B, a second device, ...).
  std::function<absl::Status(Corrupter&)> apply;
};

// GoogleTest printer.
inline void PrintTo(const CorruptionClass& c, std::ostream* os) { *os << c.name; }

// CorruptionClasses lists every class, grouped by layer.
const std::vector<CorruptionClass>& CorruptionClasses();
const CorruptionClass* FindCorruption(absl::string_view name);

// ApplyCorruption returns the ELF file of `valid` corrupted by `c`.
absl::StatusOr<std::string> ApplyCorruption(const CorruptionClass& c, const HandoffModel& valid);
// The same, writing the file with `writer` (e.g. WriteCompactElfImage) unless
// the class writes it its own way.
absl::StatusOr<std::string> ApplyCorruption(const CorruptionClass& c, const HandoffModel& valid,
                                            std::function<std::string(const Image&)> writer);

}  // namespace khoabi

#endif  // KHOABI_LIB_CORRUPT_H_
