// The ELF core file reader alone (ReadElfImage). Glue only; see lib/fuzz_support.h.
#include <cstddef>
#include <cstdint>

#include "lib/fuzz_support.h"
#include "lib/structure_mutator.h"

using khoabi::fuzz::Target;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return khoabi::fuzz::RunInput(Target::kElfReader, data, size);
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  return khoabi::fuzz::CustomMutate(Target::kElfReader, data, size, max_size, seed);
}

extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1,
                                            const uint8_t* data2, size_t size2, uint8_t* out,
                                            size_t max_out_size, unsigned int seed) {
  return khoabi::fuzz::CustomCrossOver(Target::kElfReader, data1, size1, data2, size2, out,
                                       max_out_size, seed);
}
