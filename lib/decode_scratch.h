// decode_scratch.h: the working storage a Decoder keeps between calls.
// Internal to //lib; callers use decoder.h.
//
// Decoding builds vectors (the model's, and the walks' own: tracker pages
// seen, array pages by PA, ...). A Decoder keeps them here, emptied but with
// their capacity, so that decoding an image it has decoded before allocates
// nothing, whether the image is accepted or rejected (the hot path does not
// allocate to reject). Nested storage (a device's PASID tables, a chunk's
// entries, a blob's bytes) goes through a StoragePool when its owner is
// cleared and comes back when an owner of the next decode needs it.
#ifndef KHOABI_LIB_DECODE_SCRATCH_H_
#define KHOABI_LIB_DECODE_SCRATCH_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lib/decode_context.h"
#include "lib/iommu_model.h"
#include "lib/kho_tracker.h"

namespace khoabi {

// StoragePool: emptied containers (std::vector, std::string) that keep their
// heap storage for the next owner.
template <typename Container>
class StoragePool {
 public:
  // Take returns an empty container, with storage given back earlier if any:
  // the most recently given first.
  Container Take() {
    if (free_.empty()) {
      // A new container: room to keep it later is made now, while the
      // caller allocates anyway, so that giving back never allocates.
      if (free_.capacity() < ++created_) free_.reserve(2 * created_);
      return Container();
    }
    Container c = std::move(free_.back());
    free_.pop_back();
    c.clear();
    return c;
  }
  // Give keeps `c`'s storage (nothing to keep: nothing kept).
  void Give(Container&& c) {
    if (c.capacity() != 0) free_.push_back(std::move(c));
  }
  // TakeInto gives `c` storage before its first element is added, so that
  // owners that need none take none.
  void TakeInto(Container& c) {
    if (c.capacity() == 0) c = Take();
  }

 private:
  std::vector<Container> free_;
  size_t created_ = 0;
};

struct DecodeScratch {
  // kho-v2 radix walk: nodes of a level as {pa, key prefix}, and the sorted
  // PAs of every tracker page met so far.
  struct RadixNode {
    uint64_t pa;
    uint64_t prefix;
  };
  std::vector<RadixNode> radix_level, radix_next;
  std::vector<uint64_t> radix_visited;

  // kho-v1 chunk walk: every chunk and bitmap page with where it was met
  // (slot 0: the chunk page, j + 1: the bitmap of entry j).
  struct TrackerPageUse {
    uint64_t pa, chunk, slot;
  };
  std::vector<TrackerPageUse> tracker_pages;
  struct BitmapRange {
    uint32_t order;
    uint64_t start, chunk;
    uint32_t entry;
  };
  std::vector<BitmapRange> bitmap_ranges;
  StoragePool<std::vector<TrackerChunk::Entry>> chunk_entries;

  StoragePool<std::string> subnode_names;

  // IOMMU records: array pages by PA, every object's PA, duplicate keys,
  // users of each unit.
  struct ArrayPageRef {
    uint64_t pa;
    IommuObjectKind kind;
    uint64_t first;  // index of its first object in the model's vector
    uint64_t count;
  };
  std::vector<ArrayPageRef> array_pages;
  std::vector<uint64_t> object_pas[3];
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, size_t>> duplicate_keys;
  std::vector<uint32_t> unit_users;
  StoragePool<std::vector<PasidTable>> pasid_tables;
  StoragePool<std::vector<std::pair<uint32_t, uint64_t>>> pasid_stale;
  StoragePool<std::vector<uint8_t>> blob_bytes;
  // The IOMMU model of the previous decode while the result has none.
  IommuModel spare_iommu;
};

// ScratchFor returns ctx.scratch, or `own` when the caller keeps none (a
// direct call of one layer's decoder, as tests make).
inline DecodeScratch& ScratchFor(const DecodeContext& ctx, DecodeScratch& own) {
  return ctx.scratch != nullptr ? *ctx.scratch : own;
}

}  // namespace khoabi

#endif  // KHOABI_LIB_DECODE_SCRATCH_H_
