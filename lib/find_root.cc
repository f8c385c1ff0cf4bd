#include "lib/find_root.h"

#include <libfdt.h>

#include <cstring>

#include "abi/kexec_handover.h"
#include "lib/fdt.h"
#include "lib/kho.h"

namespace khoabi {

std::vector<RootCandidate> FindRootCandidates(
    const ImageView& image, const std::function<void(uint64_t, uint64_t)>& progress) {
  std::vector<RootCandidate> out;
  const uint64_t total = image.total_bytes();
  uint64_t scanned = 0, next_report = 64ull << 20;
  static constexpr uint8_t kMagic[4] = {0xd0, 0x0d, 0xfe, 0xed};  // FDT_MAGIC, big-endian
  Options options;
  for (const SegmentView& s : image.segments) {
    // First page-aligned PA in the segment.
    uint64_t offset = (kPageSize - (s.pa & (kPageSize - 1))) & (kPageSize - 1);
    for (; offset + kPageSize <= s.bytes.size(); offset += kPageSize) {
      scanned += kPageSize;
      if (progress && scanned >= next_report) {
        progress(scanned, total);
        next_report += 64ull << 20;
      }
      const uint8_t* p = s.bytes.data() + offset;
      if (std::memcmp(p, kMagic, sizeof kMagic) != 0) continue;
      FdtPage page;
      std::memcpy(page.bytes, p, kPageSize);
      Diagnostics scratch(options);
      Path path;
      const uint64_t pa = s.pa + offset;
      if (!CheckFdt(page, pa, options, path, scratch)) continue;
      const int v = MatchCompatible(page, 0, {KHO_V1_FDT_COMPATIBLE, KHO_V2_FDT_COMPATIBLE}, pa,
                                    path, scratch);
      if (v < 0) continue;
      RootCandidate c;
      c.pa = pa;
      c.version = v == 0 ? KhoVersion::kV1 : KhoVersion::kV2;
      int len = 0;
      const void* map = fdt_getprop(page.bytes, 0, KHO_PROP_PRESERVED_MEMORY_MAP, &len);
      if (map != nullptr && len == 8) std::memcpy(&c.tracker_root, map, 8);
      const int luo = fdt_subnode_offset(page.bytes, 0, "LUO");
      if (luo >= 0) {
        fdt_getprop(page.bytes, luo, KhoSubnodeDataProperty(c.version), &len);
        c.has_luo = len == 8;
      }
      out.push_back(c);
    }
  }
  if (progress) progress(total, total);
  return out;
}

}  // namespace khoabi
