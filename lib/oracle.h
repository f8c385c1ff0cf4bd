// oracle.h: checks of an accepted decode that do not trust the decoder.
//
// A fuzz target (and any test) that sees the decoder accept an input asks:
//  1. CheckAcceptedInvariants: does an independent walk of the result and of
//     the image find every promise of "accepted means safe"
//     (spec/validation.md) kept? Every PA the result holds is a preserved
//     folio of the order its user needs, no folio has two users, tracker
//     pages are whole pages outside preserved memory, both FDTs pass libfdt's
//     full check and say what the result says, every count fits its page,
//     every list ends, every reference lands on a live object of the right
//     type, restore-only fields are clear, the PASID directories and tables in
//     the image are the result's and obey the policy, and every option of the
//     decode (ABIs, IOMMU required, limits) holds.
//  2. CheckReencode: does encoding the decoded handoff at the same PAs give
//     back the image's bytes in every folio the result uses, and the tracker?
// CheckElfImage does the same for the ELF reader.
// The walk here is written separately from the decoder on purpose: it reads
// the model and the image (FDTs through libfdt, directories byte by byte),
// never the decoder's claim flags, and it checks indexes before using them.
#ifndef KHOABI_LIB_ORACLE_H_
#define KHOABI_LIB_ORACLE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "lib/image.h"
#include "lib/options.h"
#include "lib/preserved_memory.h"

namespace khoabi {

// FoliosInUse lists every folio the handoff's records point at (with the
// order each user needs), in claim order; duplicates are kept.
std::vector<Folio> FoliosInUse(const HandoffModel& m);

// CheckAcceptedInvariants returns kInternal naming the first broken promise
// of a decode with default Options.
absl::Status CheckAcceptedInvariants(const ImageView& image, const HandoffModel& m);
// The same for a decode with `options`, whose promises it checks too: only
// accepted ABIs, the IOMMU state present if required, the PASID policy
// (checked on the directories and tables in the image, not on the decoder's
// lists), every limit, and lenient acceptance only of what strict rejects.
absl::Status CheckAcceptedInvariants(const ImageView& image, const HandoffModel& m,
                                     const Options& options);

// CheckReencode returns kInternal naming the first folio whose bytes differ.
// It compares every folio in use and every tracker page.
// REQUIRES: a decode that saw no non-zero unused bytes (a strict decode
// rejects them; a lenient one accepts bytes that no model holds, so the
// re-encoded page differs there).
absl::Status CheckReencode(const ImageView& image, const HandoffModel& m);

// CheckElfImage: an ELF file that ReadElfImage accepted (into `loaded`) holds
// exactly the memory its PT_LOAD segments describe, as a separate walk of
// the program headers finds them: every byte at its PA, zeros past p_filesz,
// nothing else, the root PA of the first KHO note, segments sorted, apart
// and within Options::max_image_bytes, every byte owned by the file or by
// `loaded`; and writing the image out again reads back the same. Returns
// kInternal naming the first difference.
absl::Status CheckElfImage(absl::Span<const uint8_t> file, const LoadedImage& loaded,
                           const Options& options);

}  // namespace khoabi

#endif  // KHOABI_LIB_ORACLE_H_
