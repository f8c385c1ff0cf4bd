#include "tests/alloc_hook.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

namespace khoabi::testing {
namespace {

// Per thread, so that another thread's allocations never count.
struct State {
  bool counting = false;
  uint64_t allocations = 0;
  uint64_t bytes = 0;
  int64_t live = 0;  // relative to the window's start; may go negative
  int64_t peak = 0;
};
thread_local State state;

void* Counted(void* p) {
  if (p != nullptr && state.counting) {
    const int64_t size = static_cast<int64_t>(malloc_usable_size(p));
    ++state.allocations;
    state.bytes += static_cast<uint64_t>(size);
    state.live += size;
    if (state.live > state.peak) state.peak = state.live;
  }
  return p;
}

void* Allocate(size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return Counted(p);
}

void* AllocateAligned(size_t size, std::align_val_t align) {
  const size_t a =
      static_cast<size_t>(align) < sizeof(void*) ? sizeof(void*) : static_cast<size_t>(align);
  void* p = nullptr;
  if (posix_memalign(&p, a, size == 0 ? 1 : size) != 0) throw std::bad_alloc();
  return Counted(p);
}

void Free(void* p) {
  if (p == nullptr) return;
  if (state.counting) state.live -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}

}  // namespace

HeapCounter::HeapCounter() { state = State{true}; }

HeapCounter::~HeapCounter() {
  if (active_) Stop();
}

HeapStats HeapCounter::Stop() {
  active_ = false;
  state.counting = false;
  HeapStats s;
  s.allocations = state.allocations;
  s.bytes = state.bytes;
  s.peak_extra_bytes = static_cast<uint64_t>(state.peak);
  return s;
}

}  // namespace khoabi::testing

using khoabi::testing::Allocate;
using khoabi::testing::AllocateAligned;
using khoabi::testing::Free;

void* operator new(size_t size) { return Allocate(size); }
void* operator new[](size_t size) { return Allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return Allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  try {
    return Allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(size_t size, std::align_val_t align) { return AllocateAligned(size, align); }
void* operator new[](size_t size, std::align_val_t align) { return AllocateAligned(size, align); }
void* operator new(size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  try {
    return AllocateAligned(size, align);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  try {
    return AllocateAligned(size, align);
  } catch (...) {
    return nullptr;
  }
}

void operator delete(void* p) noexcept { Free(p); }
void operator delete[](void* p) noexcept { Free(p); }
void operator delete(void* p, size_t) noexcept { Free(p); }
void operator delete[](void* p, size_t) noexcept { Free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Free(p); }
void operator delete(void* p, std::align_val_t) noexcept { Free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { Free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { Free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { Free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { Free(p); }
