// list_walk.h: bounded walks of singly linked lists of pages read from an
// image, for the decoders (kho-v1 chunks, IOMMU array pages).
#ifndef KHOABI_LIB_LIST_WALK_H_
#define KHOABI_LIB_LIST_WALK_H_

#include <cstdint>

namespace khoabi {

inline constexpr uint64_t kListEnds = ~0ull;

// NodesBeforeRepeat runs Brent's cycle detection over the list that starts at
// `head` and continues with next(node), where next returns 0 at the end (or
// for a node it cannot read). Returns the number of distinct nodes before the
// list returns to one it has visited, or kListEnds if the list ends. O(1)
// memory, O(length) calls to next; `charge(1)` is called per step and may
// return false to give up (then the result is kListEnds).
template <typename Next, typename Charge>
uint64_t NodesBeforeRepeat(uint64_t head, Next next, Charge charge) {
  if (head == 0) return kListEnds;
  uint64_t power = 1, lambda = 1;
  uint64_t tortoise = head, hare = next(head);
  while (tortoise != hare) {
    if (hare == 0 || !charge(1)) return kListEnds;
    if (power == lambda) {
      tortoise = hare;
      power *= 2;
      lambda = 0;
    }
    hare = next(hare);
    ++lambda;
  }
  // A cycle of length lambda; mu is where it starts.
  tortoise = hare = head;
  for (uint64_t i = 0; i < lambda; ++i) hare = next(hare);
  uint64_t mu = 0;
  while (tortoise != hare) {
    if (!charge(1)) return kListEnds;
    tortoise = next(tortoise);
    hare = next(hare);
    ++mu;
  }
  return mu + lambda;
}

}  // namespace khoabi

#endif  // KHOABI_LIB_LIST_WALK_H_
