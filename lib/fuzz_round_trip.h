// fuzz_round_trip.h: the round-trip fuzz target's logic (see fuzz_support.h).
//
// The input drives a FuzzedDataProvider that describes a handoff: a Scenario
// (ABI, tracker format, PASID policy, units, domains, devices, PASIDs, memory
// placement) and then edits of the built model that keep it valid (free
// fields, warnings-only values, stale PASID entries, FLB names with bytes
// after their NUL, ...). Every such model is one a preserving kernel may
// write, so the decoder must accept it, give it back exactly, and re-encode
// it byte for byte.
#ifndef KHOABI_LIB_FUZZ_ROUND_TRIP_H_
#define KHOABI_LIB_FUZZ_ROUND_TRIP_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/types/span.h"
#include "lib/handoff.h"
#include "lib/options.h"

namespace khoabi::fuzz {

struct GeneratedModel {
  HandoffModel model;
  Options options;  // what to decode it with (the policy it was built for)
};

// ModelFromInput returns the model `input` describes, or nullopt when the
// preserving kernel refuses the scenario (the NO_PASID-only policy with PASIDs
// attached, memory that runs out, ...).
std::optional<GeneratedModel> ModelFromInput(absl::Span<const uint8_t> input);

// RunRoundTrip checks decode(encode(m)) == m for the model of `input`, the
// decode oracles, and that encoding the decoded model and writing and reading
// it as an ELF file (compact for inputs of even length) change no byte.
// Returns "" or what broke.
std::string RunRoundTrip(absl::Span<const uint8_t> input);

}  // namespace khoabi::fuzz

#endif  // KHOABI_LIB_FUZZ_ROUND_TRIP_H_
