// oracle.h: checks of an accepted decode that do not trust the decoder.
//
// A fuzz target (and any test) that sees the decoder accept an input asks:
//  1. CheckAcceptedInvariants: does an independent walk of the result and of
//     the image find every promise of "accepted means safe"
//     (spec/validation.md) kept? Every PA the result holds is a preserved
//     folio of the order its user needs, no folio has two users, tracker
//     pages are not preserved, every count fits its page, every list ends,
//     every reference lands on a live object of the right type, restore-only
//     fields are clear, the PASID directory in the image matches the tables
//     in the result and the policy, and walking the result with its accessors
//     stays inside the image.
//  2. CheckReencode: does encoding the decoded handoff at the same PAs give
//     back the image's bytes in every folio the result uses?
// The walk here is written separately from the decoder on purpose: it reads
// the model and the image (FDTs through libfdt, directories byte by byte),
// never the decoder's claim flags, and it checks indexes before using them.
#ifndef KHOABI_LIB_ORACLE_H_
#define KHOABI_LIB_ORACLE_H_

#include <vector>

#include "absl/status/status.h"
#include "lib/decoder.h"
#include "lib/image.h"
#include "lib/options.h"
#include "lib/preserved_memory.h"

namespace khoabi {

struct OracleOptions {
  // The policy the decode applied (kAbiDefault: the ABI's own).
  PasidPolicy policy = PasidPolicy::kAbiDefault;
  // Whether the decode was strict. A lenient decode accepts strict problems
  // (non-zero unused bytes, PASID qwords 3-7) that no model can re-encode:
  // CheckReencode REQUIRES a strict decode.
  bool strict = true;
};

// FoliosInUse lists every folio the handoff's records point at (with the
// order each user needs), in claim order; duplicates are kept. References
// that do not resolve are skipped.
std::vector<Folio> FoliosInUse(const HandoffModel& m);

// CheckAcceptedInvariants returns kInternal naming the first broken promise.
absl::Status CheckAcceptedInvariants(const ImageView& image, const HandoffModel& m,
                                     const OracleOptions& options = {});

// CheckReencode returns kInternal naming the first folio whose bytes differ.
// REQUIRES: `m` was accepted by a strict decode.
absl::Status CheckReencode(const ImageView& image, const HandoffModel& m);

}  // namespace khoabi

#endif  // KHOABI_LIB_ORACLE_H_
