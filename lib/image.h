// image.h: a handoff image, the memory a restoring kernel would find.
//
// An image is memory segments at physical addresses plus the PA of the KHO
// root FDT. `Image` owns its bytes (the encoder's output); `ImageView` only
// refers to bytes owned elsewhere (an Image, or a file read by elf_image.h);
// `ImageReader` is the one way decoders touch image bytes: every access is a
// bounds-checked, overflow-safe range lookup, and no decoder does pointer
// arithmetic on a value it read from the image.
//
// Example:
//   const ImageView view = image.View();
//   ImageReader reader(view);
//   uint64_t v;
//   if (!reader.ReadU64(pa, &v)) { ... pa_outside_image ... }
#ifndef KHOABI_LIB_IMAGE_H_
#define KHOABI_LIB_IMAGE_H_

#include <cstdint>
#include <cstring>
#include <map>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace khoabi {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr unsigned kPageShift = 12;

// Size in bytes of a folio of `order` (REQUIRES: order <= 51).
inline constexpr uint64_t FolioBytes(unsigned order) { return kPageSize << order; }

// FirstNonZero returns the index of the first non-zero byte of `bytes`, or
// bytes.size() if there is none. A word at a time: decoders check pages of
// unused bytes on their hot path.
inline size_t FirstNonZero(absl::Span<const uint8_t> bytes) {
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, sizeof word);
    if (word != 0) break;
  }
  for (; i < bytes.size(); ++i) {
    if (bytes[i] != 0) return i;
  }
  return bytes.size();
}

struct SegmentView {
  uint64_t pa = 0;
  absl::Span<const uint8_t> bytes;
};

// ImageView: segments sorted by PA, neither overlapping nor adjacent, each
// ending at or below 2^64.
struct ImageView {
  uint64_t root_pa = 0;
  std::vector<SegmentView> segments;

  uint64_t total_bytes() const;
};

class ImageReader {
 public:
  // REQUIRES: `view` outlives the reader (it is not copied).
  explicit ImageReader(const ImageView& view) : view_(&view) {}
  // A temporary view would be gone before the first read.
  explicit ImageReader(ImageView&& view) = delete;

  // Bytes returns a view of [pa, pa + len) if it lies inside one segment,
  // else an empty span. len 0 always yields an empty span.
  absl::Span<const uint8_t> Bytes(uint64_t pa, uint64_t len) const;

  // Contains: every byte of [pa, pa + len) is in the image (len > 0).
  bool Contains(uint64_t pa, uint64_t len) const { return !Bytes(pa, len).empty(); }

  // Read copies [pa, pa + len) to `dst`; false if it is not all in the image.
  bool Read(uint64_t pa, void* dst, size_t len) const;

  bool ReadU64(uint64_t pa, uint64_t* out) const { return Read(pa, out, sizeof *out); }

  // ReadObject copies a trivially copyable record (an abi/ struct) at `pa`.
  template <typename T>
  bool ReadObject(uint64_t pa, T* out) const {
    static_assert(std::is_trivially_copyable_v<T>, "records are plain bytes");
    return Read(pa, out, sizeof(T));
  }

  const ImageView& view() const { return *view_; }

 private:
  const SegmentView* Find(uint64_t pa) const;
  const ImageView* view_;
  // The segment of the last access: it and the next are tried first.
  // (So a reader is not for concurrent use; make one per thread.)
  mutable size_t last_ = 0;
};

// Image: an image that owns its bytes.
class Image {
 public:
  struct Segment {
    uint64_t pa = 0;
    std::vector<uint8_t> bytes;
  };

  uint64_t root_pa = 0;

  const std::vector<Segment>& segments() const { return segments_; }
  uint64_t total_bytes() const;

  // View refers to this image's bytes; valid while the image is unchanged.
  ImageView View() const;

  // Mutable returns writable bytes of [pa, pa + len) if they lie inside one
  // segment, else an empty span. For tests and tools that corrupt images.
  absl::Span<uint8_t> Mutable(uint64_t pa, uint64_t len);

  // FromSegments sorts, checks and coalesces segments; kInvalidArgument if
  // two overlap or one wraps around 2^64.
  static absl::StatusOr<Image> FromSegments(uint64_t root_pa, std::vector<Segment> segments);

  // Truncated: a copy of this image with only the first `bytes` bytes of
  // memory (segments in PA order), for truncation tests.
  Image Truncated(uint64_t bytes) const;

 private:
  std::vector<Segment> segments_;
};

// ImageBuilder: collects pages (or any byte ranges) at PAs and builds an
// Image of maximal contiguous segments.
class ImageBuilder {
 public:
  // Put writes `bytes` at `pa`. kInvalidArgument if the range overlaps one put
  // before or wraps around 2^64.
  absl::Status Put(uint64_t pa, std::vector<uint8_t> bytes);
  // PutZero writes `len` zero bytes.
  absl::Status PutZero(uint64_t pa, uint64_t len) { return Put(pa, std::vector<uint8_t>(len)); }
  bool Has(uint64_t pa) const { return ranges_.count(pa) != 0; }

  Image Build(uint64_t root_pa) &&;

 private:
  std::map<uint64_t, std::vector<uint8_t>> ranges_;
};

}  // namespace khoabi

#endif  // KHOABI_LIB_IMAGE_H_
