// decoder.h: the restoring kernel, hardened.
//
// Decoder walks a handoff image the way a restoring kernel does (KHO root FDT,
// tracker, LUO FDT, FLB header, and the IOMMU records below it), claims every
// folio a record points at, and trusts nothing: every problem is reported
// with a reason from reasons.inc, the record path and the PA. The result is
// the same model the encoder takes (handoff.h), so decode(encode(m)) == m.
//
// Example:
//   Decoder decoder(options);
//   const DecodeResult& r = decoder.Decode(image.View());
//   if (!r.ok()) std::cerr << r.diag.first_error()->ToString() << "\n";
//
// A Decoder keeps its working storage between calls: once warmed up on an
// image (it decoded it once), decoding that image again, valid or not,
// allocates nothing, and reporting a problem never allocates
// (tests/decoder_allocation_test.cc counts).
#ifndef KHOABI_LIB_DECODER_H_
#define KHOABI_LIB_DECODER_H_

#include "absl/status/statusor.h"
#include "lib/decode_scratch.h"
#include "lib/diagnostics.h"
#include "lib/handoff.h"
#include "lib/image.h"
#include "lib/options.h"
#include "lib/preserved_memory.h"

namespace khoabi {

struct DecodeResult {
  HandoffModel handoff;    // what was decoded; partial when !ok()
  Diagnostics diag;        // errors and warnings
  PreservedMemory memory;  // preserved folios and which were claimed
  uint64_t work = 0;       // work units used
  uint64_t work_budget = 0;
  PasidPolicy policy = PasidPolicy::kAbiDefault;  // the policy asked for

  bool ok() const { return diag.ok(); }
};

class Decoder {
 public:
  Decoder() : Decoder(Options{}) {}
  explicit Decoder(const Options& options) : options_(options) {}

  // Decode decodes `image`. The result stays valid until the next call.
  // REQUIRES: the bytes `image` refers to outlive the result.
  const DecodeResult& Decode(const ImageView& image);

  const Options& options() const { return options_; }

 private:
  Options options_;
  DecodeResult result_;
  DecodeScratch scratch_;
};

// DecodeHandoff is the one-shot form: the decoded model, or the first error
// as a status (reason name in the payload, see diagnostics.h).
absl::StatusOr<HandoffModel> DecodeHandoff(const ImageView& image, const Options& options = {});

}  // namespace khoabi

#endif  // KHOABI_LIB_DECODER_H_
