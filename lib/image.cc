#include "lib/image.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"

namespace khoabi {
namespace {

// End of [pa, pa + len) as an exclusive bound in 65 bits; false if it would
// exceed 2^64.
bool RangeFits(uint64_t pa, uint64_t len) { return len <= ~pa + 1 || pa == 0; }

}  // namespace

uint64_t ImageView::total_bytes() const {
  uint64_t n = 0;
  for (const SegmentView& s : segments) n += s.bytes.size();
  return n;
}

const SegmentView* ImageReader::Find(uint64_t pa) const {
  const std::vector<SegmentView>& segs = view_->segments;
  // The last segment found, then the next one: decoders read in runs, mostly
  // upwards.
  for (size_t i = last_; i < segs.size() && i <= last_ + 1; ++i) {
    const SegmentView& s = segs[i];
    if (pa >= s.pa && pa - s.pa < s.bytes.size()) {
      last_ = i;
      return &s;
    }
  }
  // First segment starting after pa; the one before it may contain pa.
  auto it = std::upper_bound(segs.begin(), segs.end(), pa,
                             [](uint64_t p, const SegmentView& s) { return p < s.pa; });
  if (it == segs.begin()) return nullptr;
  --it;
  if (pa - it->pa >= it->bytes.size()) return nullptr;
  last_ = static_cast<size_t>(it - segs.begin());
  return &*it;
}

absl::Span<const uint8_t> ImageReader::Bytes(uint64_t pa, uint64_t len) const {
  if (len == 0) return {};
  const SegmentView* s = Find(pa);
  if (s == nullptr) return {};
  const uint64_t offset = pa - s->pa;              // < size, by Find
  const uint64_t room = s->bytes.size() - offset;  // > 0
  if (len > room) return {};
  return s->bytes.subspan(static_cast<size_t>(offset), static_cast<size_t>(len));
}

bool ImageReader::Read(uint64_t pa, void* dst, size_t len) const {
  absl::Span<const uint8_t> b = Bytes(pa, len);
  if (b.empty()) return len == 0;
  std::memcpy(dst, b.data(), len);
  return true;
}

uint64_t Image::total_bytes() const {
  uint64_t n = 0;
  for (const Segment& s : segments_) n += s.bytes.size();
  return n;
}

ImageView Image::View() const {
  ImageView v;
  v.root_pa = root_pa;
  v.segments.reserve(segments_.size());
  for (const Segment& s : segments_) v.segments.push_back({s.pa, absl::MakeConstSpan(s.bytes)});
  return v;
}

absl::Span<uint8_t> Image::Mutable(uint64_t pa, uint64_t len) {
  for (Segment& s : segments_) {
    if (pa < s.pa || pa - s.pa >= s.bytes.size()) continue;
    const uint64_t offset = pa - s.pa;
    if (len == 0 || len > s.bytes.size() - offset) return {};
    return absl::MakeSpan(s.bytes).subspan(static_cast<size_t>(offset), static_cast<size_t>(len));
  }
  return {};
}

absl::StatusOr<Image> Image::FromSegments(uint64_t root_pa, std::vector<Segment> segments) {
  segments.erase(std::remove_if(segments.begin(), segments.end(),
                                [](const Segment& s) { return s.bytes.empty(); }),
                 segments.end());
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.pa < b.pa; });
  Image image;
  image.root_pa = root_pa;
  for (Segment& s : segments) {
    if (!RangeFits(s.pa, s.bytes.size())) {
      return absl::InvalidArgumentError(
          absl::StrFormat("segment at %#x of %u bytes wraps around 2^64", s.pa, s.bytes.size()));
    }
    if (!image.segments_.empty()) {
      Segment& last = image.segments_.back();
      const uint64_t last_end = last.pa + last.bytes.size();  // may be 0 (= 2^64)
      if (last_end == 0 || s.pa < last_end) {
        return absl::InvalidArgumentError(
            absl::StrFormat("segments at %#x and %#x overlap", last.pa, s.pa));
      }
      if (s.pa == last_end) {
        last.bytes.insert(last.bytes.end(), s.bytes.begin(), s.bytes.end());
        continue;
      }
    }
    image.segments_.push_back(std::move(s));
  }
  return image;
}

Image Image::Truncated(uint64_t bytes) const {
  Image out;
  out.root_pa = root_pa;
  for (const Segment& s : segments_) {
    if (bytes == 0) break;
    const uint64_t take = std::min<uint64_t>(bytes, s.bytes.size());
    out.segments_.push_back(
        {s.pa, std::vector<uint8_t>(s.bytes.begin(), s.bytes.begin() + static_cast<long>(take))});
    bytes -= take;
  }
  return out;
}

absl::Status ImageBuilder::Put(uint64_t pa, std::vector<uint8_t> bytes) {
  if (bytes.empty()) return absl::OkStatus();
  if (!RangeFits(pa, bytes.size())) {
    return absl::InvalidArgumentError(absl::StrFormat("range at %#x wraps around 2^64", pa));
  }
  const uint64_t last = pa + (bytes.size() - 1);
  auto next = ranges_.lower_bound(pa);
  if (next != ranges_.end() && next->first <= last) {
    return absl::InvalidArgumentError(
        absl::StrFormat("range at %#x overlaps the one at %#x", pa, next->first));
  }
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (pa - prev->first < prev->second.size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("range at %#x overlaps the one at %#x", pa, prev->first));
    }
  }
  ranges_.emplace(pa, std::move(bytes));
  return absl::OkStatus();
}

Image ImageBuilder::Build(uint64_t root_pa) && {
  // Contiguous ranges become one segment, each allocated once at its size
  // (FromSegments would join them by growing the first, copying it again
  // and again).
  std::vector<Image::Segment> segs;
  for (auto it = ranges_.begin(); it != ranges_.end();) {
    auto end = std::next(it);
    uint64_t size = it->second.size();
    while (end != ranges_.end() && end->first == it->first + size) {
      size += end->second.size();
      ++end;
    }
    Image::Segment seg{it->first, std::move(it->second)};
    if (std::next(it) != end) {
      seg.bytes.reserve(static_cast<size_t>(size));
      for (auto r = std::next(it); r != end; ++r) {
        seg.bytes.insert(seg.bytes.end(), r->second.begin(), r->second.end());
      }
    }
    segs.push_back(std::move(seg));
    it = end;
  }
  ranges_.clear();
  // Ranges never overlap (Put checks), so this cannot fail.
  absl::StatusOr<Image> image = Image::FromSegments(root_pa, std::move(segs));
  return image.ok() ? *std::move(image) : Image();
}

}  // namespace khoabi
