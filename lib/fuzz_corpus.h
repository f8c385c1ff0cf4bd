// fuzz_corpus.h: the seed corpora of the fuzz targets, made by the encoder.
//
// Seeds cover the shapes a handoff comes in (both IOMMU ABIs, both tracker
// formats, both PASID policies, Intel, legacy Intel and SMMUv3 units, many
// devices, full 2^20-PASID directories, scattered and high memory), every
// corruption class of corrupt.h that applies to the target, and option bytes
// that tighten each limit. //fuzz:make_corpus writes them out;
// fuzz/make_corpus.sh names them by their SHA-1 as libFuzzer does.
#ifndef KHOABI_LIB_FUZZ_CORPUS_H_
#define KHOABI_LIB_FUZZ_CORPUS_H_

#include <string>
#include <vector>

#include "lib/fuzz_support.h"

namespace khoabi::fuzz {

struct Seed {
  std::string label;  // what it is, e.g. "B_kho-v2_80devices" or "corrupt_claim_twice"
  std::string bytes;
  // A valid handoff, with the options it was made for (a policy, IOMMU state
  // optional): no corruption class, no tightened limit. Fuzzing from these
  // alone measures what the fuzzer finds by itself.
  bool valid = false;
};

// SeedsFor returns the seeds of `target`, deterministically.
std::vector<Seed> SeedsFor(Target target);

}  // namespace khoabi::fuzz

#endif  // KHOABI_LIB_FUZZ_CORPUS_H_
