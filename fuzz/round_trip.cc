// Round trip: the input (through FuzzedDataProvider) describes a valid
// handoff model; decode(encode(m)) must be m, byte for byte. Glue only; see
// lib/fuzz_round_trip.h. No custom mutator: the input is not structured.
#include <cstddef>
#include <cstdint>

#include "lib/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return khoabi::fuzz::RunInput(khoabi::fuzz::Target::kRoundTrip, data, size);
}
