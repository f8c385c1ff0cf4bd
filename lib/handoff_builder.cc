#include "lib/handoff_builder.h"

#include <algorithm>
#include <utility>

#include "abi/luo.h"
#include "absl/strings/str_format.h"

namespace khoabi {

HandoffBuilder::HandoffBuilder(const Config& config) : config_(config), allocator_(config.memory) {
  model_.kho.version = config.kho_version;
  model_.luo.liveupdate_number = config.liveupdate_number;
}

void HandoffBuilder::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

uint64_t HandoffBuilder::Alloc(unsigned order) {
  absl::StatusOr<uint64_t> pa = allocator_.Alloc(order);
  if (!pa.ok()) {
    Fail(pa.status());
    return 0;
  }
  return *pa;
}

uint64_t HandoffBuilder::PreserveNew(unsigned order) {
  const uint64_t pa = Alloc(order);
  if (status_.ok()) Preserve(pa, order);
  return pa;
}

uint64_t HandoffBuilder::PreserveBlob(unsigned order, std::vector<uint8_t> bytes) {
  if (bytes.size() > FolioBytes(order)) {
    Fail(absl::InvalidArgumentError(
        absl::StrFormat("%u bytes do not fit an order-%u folio", bytes.size(), order)));
    return 0;
  }
  const uint64_t pa = Alloc(order);
  if (!status_.ok()) return 0;
  PreserveBlobAt(pa, order, std::move(bytes));
  return pa;
}

void HandoffBuilder::PreserveBlobAt(uint64_t pa, unsigned order, std::vector<uint8_t> bytes) {
  if (bytes.size() > FolioBytes(order)) {
    Fail(absl::InvalidArgumentError(
        absl::StrFormat("%u bytes do not fit an order-%u folio", bytes.size(), order)));
    return;
  }
  Preserve(pa, order);
  bytes.resize(FolioBytes(order), 0);  // blobs hold whole folios, as decoded
  model_.blobs.push_back({pa, order, std::move(bytes)});
}

void HandoffBuilder::Unpreserve(uint64_t pa) {
  preserved_.erase(std::remove_if(preserved_.begin(), preserved_.end(),
                                  [pa](const Folio& f) { return f.pa == pa; }),
                   preserved_.end());
  model_.blobs.erase(std::remove_if(model_.blobs.begin(), model_.blobs.end(),
                                    [pa](const BlobFolio& b) { return b.pa == pa; }),
                     model_.blobs.end());
}

void HandoffBuilder::Preserve(uint64_t pa, unsigned order) { preserved_.push_back({pa, order}); }

void HandoffBuilder::AddFlb(absl::string_view name, uint64_t data, uint64_t count) {
  if (name.size() >= LIVEUPDATE_FLB_COMPAT_LENGTH) {
    Fail(absl::InvalidArgumentError(absl::StrFormat("FLB name \"%s\" is longer than %d characters",
                                                    name, LIVEUPDATE_FLB_COMPAT_LENGTH - 1)));
    return;
  }
  if (model_.luo.flbs.size() >= LUO_FLB_ENTRIES_PER_PAGE) {
    Fail(absl::ResourceExhaustedError("the FLB header page is full (63 entries)"));
    return;
  }
  model_.luo.flbs.push_back(FlbEntry::Make(name, data, count));
}

absl::StatusOr<HandoffModel> HandoffBuilder::Finish() && {
  if (!status_.ok()) return status_;
  // What the kernel allocates at kexec time: its FDTs and the FLB header are
  // preserved order-0 folios.
  model_.kho.root_fdt_pa = Alloc(0);
  model_.luo.fdt_pa = Alloc(0);
  model_.luo.flb_header_pa = Alloc(0);
  if (!status_.ok()) return status_;
  preserved_.push_back({model_.kho.root_fdt_pa, 0});
  preserved_.push_back({model_.luo.fdt_pa, 0});
  preserved_.push_back({model_.luo.flb_header_pa, 0});
  model_.kho.subnodes = {{"LUO", model_.luo.fdt_pa}};

  absl::StatusOr<TrackerModel> tracker =
      PlanTracker(config_.kho_version, std::move(preserved_), allocator_);
  if (!tracker.ok()) return tracker.status();
  model_.kho.tracker = *std::move(tracker);
  std::sort(model_.blobs.begin(), model_.blobs.end(),
            [](const BlobFolio& a, const BlobFolio& b) { return a.pa < b.pa; });
  return std::move(model_);
}

}  // namespace khoabi
