// find_root.h: finding the KHO root FDT in a memory dump that does not say
// where it is (a kdump vmcore or QEMU dump-guest-memory file has no KHO note).
#ifndef KHOABI_LIB_FIND_ROOT_H_
#define KHOABI_LIB_FIND_ROOT_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "lib/image.h"
#include "lib/kho_tracker.h"

namespace khoabi {

struct RootCandidate {
  uint64_t pa = 0;
  KhoVersion version = KhoVersion::kV2;
  uint64_t tracker_root = 0;  // preserved-memory-map, 0 if absent or malformed
  bool has_luo = false;       // a "LUO" sub-node with an 8-byte data property
};

// FindRootCandidates scans every page of `image` for a one-page FDT that
// passes CheckFdt and whose root is compatible with kho-v1 or kho-v2.
// `progress(scanned_bytes, total_bytes)` is called every 64 MiB if given.
std::vector<RootCandidate> FindRootCandidates(
    const ImageView& image, const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

}  // namespace khoabi

#endif  // KHOABI_LIB_FIND_ROOT_H_
