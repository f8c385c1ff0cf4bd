// page_allocator.h: the physical page allocator of the preserving-kernel model.
//
// Deterministic: the same Config gives the same addresses, so encoded images
// are reproducible byte for byte. The base and the layout are configurable so
// tests and fuzzers can place folios anywhere, including at awkward addresses
// (high in the address space, scattered, with gaps).
#ifndef KHOABI_LIB_PAGE_ALLOCATOR_H_
#define KHOABI_LIB_PAGE_ALLOCATOR_H_

#include <cstdint>
#include <random>

#include "absl/status/statusor.h"

namespace khoabi {

class PageAllocator {
 public:
  struct Config {
    // First PA handed out (rounded up to each allocation's alignment).
    uint64_t base = 0x100000000;  // 4 GiB
    // One past the last usable byte; 0 means the end of the address space.
    uint64_t limit = 0;
    // 0: allocations are dense and in order. Otherwise a seed for gaps of
    // 0..max_gap_pages free pages before each allocation.
    uint64_t seed = 0;
    uint32_t max_gap_pages = 0;
  };

  PageAllocator() : PageAllocator(Config{}) {}
  explicit PageAllocator(const Config& config);

  // Alloc returns the PA of 2^order free pages aligned to their size, or
  // kResourceExhausted when they do not fit below the limit.
  absl::StatusOr<uint64_t> Alloc(unsigned order);

  // Next PA that Alloc(0) would consider (for tests).
  uint64_t cursor() const { return next_; }

 private:
  Config config_;
  uint64_t next_;
  bool exhausted_ = false;
  std::mt19937_64 rng_;
};

}  // namespace khoabi

#endif  // KHOABI_LIB_PAGE_ALLOCATOR_H_
