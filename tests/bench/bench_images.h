// bench_images.h: the handoff images the benchmarks measure.
//
// Every image comes from the encoder (BuildScenario, EncodeHandoff), so what
// is timed is the decoder on the bytes a preserving kernel writes, never a
// hand-made shortcut. Images are built once per process and cached.
#ifndef KHOABI_TESTS_BENCH_BENCH_IMAGES_H_
#define KHOABI_TESTS_BENCH_BENCH_IMAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lib/handoff.h"
#include "lib/image.h"
#include "lib/scenario.h"

namespace khoabi::bench {

// A one-device handoff whose device has a full 2^20-PASID directory (128 KiB,
// 16384 present entries) and every one of its 2^20 PASID entries present:
// 16384 PASID tables, 64 MiB of entries.
struct FullDirectory {
  HandoffModel model;
  Image image;
  uint64_t dir_pa = 0;
  uint64_t max_pasid = 0;
  // The directory page run and every table page, in directory order: the
  // bytes PASID validation reads.
  std::vector<const uint8_t*> tables;
  const uint8_t* dir = nullptr;
  uint64_t dir_bytes = 0;
  uint64_t bytes() const { return dir_bytes + tables.size() * kPageSize; }
};

// kUniform: every entry is the second-level entry the preserving driver
// writes. kMixed: the same image with entries rewritten to a deterministic
// pseudo-random mix of all four valid PGTTs (first level, second level,
// nested, pass-through), so that no branch predictor learns the data.
enum class EntryMix { kUniform, kMixed };

const FullDirectory& GetFullDirectory(EntryMix mix);

// The realistic handoff shape of the decode and encode benchmarks: four
// scalable VT-d units and a legacy one, two domains per unit, `devices`
// devices round-robin (max_pasid 2^16; under ABI B PASIDs 1, 7 and 4096 in
// use as well), two opaque FLBs, two unpreserved devices (when there are
// more than two), memory scattered above 4 GiB.
Scenario RealisticScenario(IommuAbi abi, KhoVersion kho, int devices);

struct Encoded {
  HandoffModel model;
  Image image;
};
const Encoded& GetRealistic(IommuAbi abi, KhoVersion kho, int devices);

// "A_kho-v2_64" style label of a realistic shape.
std::string ShapeName(IommuAbi abi, KhoVersion kho, int devices);

}  // namespace khoabi::bench

#endif  // KHOABI_TESTS_BENCH_BENCH_IMAGES_H_
