// structure_mutator.h: a structure-aware mutator for khoabi's fuzz inputs
// (LLVMFuzzerCustomMutator and LLVMFuzzerCustomCrossOver of fuzz/).
//
// Byte mutations rarely get past the first check of a handoff: a flipped bit
// in a PA points at nothing, a changed count overruns its page. This mutator
// decodes an input as far as it can (ReadElfImage, then Decoder, which
// carries on past errors), lists the fields that matter (every PA, count,
// order, flag, version, compatible string and name, chain link, PASID
// directory and table entry) with where they sit in the image, and changes
// one of them the way a buggy or hostile producer would: a PA to another
// folio, into a folio, to an unpreserved page, misaligned or to one another
// record uses (aliasing); counts and orders to their boundaries; links to
// cycles, to pages of another list, or to long chains; PASID entries' present,
// reserved, PGTT, AW and FLPM bits and pointers. Some mutations change the
// model and encode it again (more objects and array pages, another PASID
// table, a resized directory, another FLB or folio), which keeps the tracker
// and the FDTs consistent so the decoder reaches the records behind them.
// Anything it cannot parse, and a share of all calls, goes to the byte-level
// fallback (libFuzzer's LLVMFuzzerMutate, or MutateBytes).
//
// Deterministic: the same input, seed and fallback give the same output.
//
// Example (a fuzz target's glue):
//   extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* d, size_t n, size_t max, unsigned seed) {
//     return khoabi::fuzz::CustomMutate(khoabi::fuzz::Target::kHandoff, d, n, max, seed);
//   }
#ifndef KHOABI_LIB_STRUCTURE_MUTATOR_H_
#define KHOABI_LIB_STRUCTURE_MUTATOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "lib/fuzz_support.h"

namespace khoabi::fuzz {

// A byte-level mutator: mutates data[0, size) in place (data holds max_size
// bytes) and returns the new size, at most max_size.
using ByteMutator = std::function<size_t(uint8_t* data, size_t size, size_t max_size)>;

// MutateBytes is a small deterministic byte-level mutator (bit flips,
// interesting values, inserts, erases, copies), for engines without one and
// for tests.
size_t MutateBytes(uint8_t* data, size_t size, size_t max_size, uint64_t seed);

struct MutatorStats {
  std::string last;  // the name of the last mutation applied, e.g. "pa.alias"
};

class StructureMutator {
 public:
  // `structure_percent` of the calls try a structural mutation first; the
  // rest go straight to `fallback`.
  StructureMutator(Target target, ByteMutator fallback, int structure_percent = 40);

  // Mutate follows LLVMFuzzerCustomMutator's contract.
  size_t Mutate(uint8_t* data, size_t size, size_t max_size, uint64_t seed);
  // CrossOver follows LLVMFuzzerCustomCrossOver's contract.
  size_t CrossOver(const uint8_t* data1, size_t size1, const uint8_t* data2, size_t size2,
                   uint8_t* out, size_t max_out_size, uint64_t seed);

  const MutatorStats& stats() const { return stats_; }

 private:
  Target target_;
  ByteMutator fallback_;
  int structure_percent_;
  MutatorStats stats_;
};

// The glue's entry points: a StructureMutator per target whose fallback is
// LLVMFuzzerMutate when libFuzzer is linked (else MutateBytes). The share of
// structural mutations is 40% (a structural mutation costs about as much as
// several executions: it decodes, edits and writes the input again), or
// $KHOABI_STRUCTURE_PERCENT (0-100).
size_t CustomMutate(Target target, uint8_t* data, size_t size, size_t max_size, unsigned seed);
size_t CustomCrossOver(Target target, const uint8_t* data1, size_t size1, const uint8_t* data2,
                       size_t size2, uint8_t* out, size_t max_out_size, unsigned seed);

}  // namespace khoabi::fuzz

#endif  // KHOABI_LIB_STRUCTURE_MUTATOR_H_
