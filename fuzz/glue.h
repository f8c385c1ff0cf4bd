// glue.h: the libFuzzer entry points of a structured fuzz target, one line
// per target file. Each target is a separate binary (as libFuzzer, OSS-Fuzz
// and AFL++ want them) whose three entry points differ only in the Target
// they pass on; the logic is in lib/fuzz_support.h and
// lib/structure_mutator.h.
//
//   #include "fuzz/glue.h"
//   KHOABI_STRUCTURED_FUZZ_TARGET(kTracker)
#ifndef KHOABI_FUZZ_GLUE_H_
#define KHOABI_FUZZ_GLUE_H_

#include <cstddef>
#include <cstdint>

#include "lib/fuzz_support.h"
#include "lib/structure_mutator.h"

#define KHOABI_STRUCTURED_FUZZ_TARGET(target)                                                      \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {                        \
    return khoabi::fuzz::RunInput(khoabi::fuzz::Target::target, data, size);                       \
  }                                                                                                \
  extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,           \
                                            unsigned int seed) {                                   \
    return khoabi::fuzz::CustomMutate(khoabi::fuzz::Target::target, data, size, max_size, seed);   \
  }                                                                                                \
  extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1,                  \
                                              const uint8_t* data2, size_t size2, uint8_t* out,    \
                                              size_t max_out_size, unsigned int seed) {            \
    return khoabi::fuzz::CustomCrossOver(khoabi::fuzz::Target::target, data1, size1, data2, size2, \
                                         out, max_out_size, seed);                                 \
  }

#endif  // KHOABI_FUZZ_GLUE_H_
