// alloc_hook.h: counts this thread's heap allocations, for the tests and
// benchmarks that must show what allocates.
//
// Linking //tests:alloc_hook into a binary replaces the global operator new
// and operator delete, every replaceable form (plain, array, nothrow,
// aligned, sized). They allocate with malloc as before; while a HeapCounter
// is active on the calling thread they also count:
//   - allocations: calls of any operator new (what std::vector, std::string,
//     absl::Status payloads, std::function, ... allocate through);
//   - bytes: the usable size malloc gave each of them;
//   - peak_extra_bytes: the peak, over the counting window, of bytes
//     allocated by operator new and not yet deleted, relative to the window's
//     start (memory freed in the window that was allocated before it lowers
//     the baseline, so this is the growth a caller sees).
// Direct malloc calls (C libraries) are not seen; libfdt makes none, and the
// printf family makes none for the formats the library uses.
//
// Example:
//   HeapCounter counter;
//   decoder.Decode(view);
//   EXPECT_EQ(counter.Stop().allocations, 0u);
#ifndef KHOABI_TESTS_ALLOC_HOOK_H_
#define KHOABI_TESTS_ALLOC_HOOK_H_

#include <cstdint>

namespace khoabi::testing {

struct HeapStats {
  uint64_t allocations = 0;
  uint64_t bytes = 0;
  uint64_t peak_extra_bytes = 0;
};

// HeapCounter counts from construction to Stop() (or destruction). Not
// nestable; one per thread at a time.
class HeapCounter {
 public:
  HeapCounter();
  ~HeapCounter();
  HeapCounter(const HeapCounter&) = delete;
  HeapCounter& operator=(const HeapCounter&) = delete;

  // Stop ends counting and returns what was counted.
  HeapStats Stop();

 private:
  bool active_ = true;
};

}  // namespace khoabi::testing

#endif  // KHOABI_TESTS_ALLOC_HOOK_H_
