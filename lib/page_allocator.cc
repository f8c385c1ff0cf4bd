#include "lib/page_allocator.h"

#include "absl/strings/str_format.h"
#include "lib/image.h"

namespace khoabi {

PageAllocator::PageAllocator(const Config& config)
    : config_(config), next_(config.base), rng_(config.seed) {}  // Alloc aligns up

absl::StatusOr<uint64_t> PageAllocator::Alloc(unsigned order) {
  if (order > 40)
    return absl::InvalidArgumentError(absl::StrFormat("order %u is too large", order));
  const uint64_t size = FolioBytes(order);
  unsigned __int128 at = next_;
  if (config_.seed != 0 && config_.max_gap_pages != 0) {
    at +=
        static_cast<unsigned __int128>(rng_() % (uint64_t{config_.max_gap_pages} + 1)) * kPageSize;
  }
  at = (at + size - 1) & ~static_cast<unsigned __int128>(size - 1);
  const unsigned __int128 end = at + size;
  const unsigned __int128 limit =
      config_.limit == 0 ? (static_cast<unsigned __int128>(1) << 64) : config_.limit;
  if (exhausted_ || end > limit) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("no room for an order-%u folio below %#x", order, config_.limit));
  }
  // next_ wraps to 0 when the last page of the address space is used.
  if (end == (static_cast<unsigned __int128>(1) << 64)) exhausted_ = true;
  next_ = static_cast<uint64_t>(end);
  return static_cast<uint64_t>(at);
}

}  // namespace khoabi
