// pasid.h: a device's VT-d PASID directory and tables (spec/vtd-pasid.md),
// encoder and decoder side by side.
//
// The decoder is the hot path of a handoff with PASID state (a full 2^20-PASID
// directory is 16384 tables, 64 MiB): it walks the directory and every present
// table in one pass, checks each entry with the single-entry checks of
// abi/vtd_pasid.h, allocates nothing per entry, and keeps views of the tables
// rather than copies.
#ifndef KHOABI_LIB_PASID_H_
#define KHOABI_LIB_PASID_H_

#include <cstdint>

#include "absl/status/status.h"
#include "lib/decode_context.h"
#include "lib/iommu_model.h"
#include "lib/options.h"

namespace khoabi {

// EncodePasid writes the directory at `dir_pa` (sized by `max_pasid`) and
// every present table of `state`. kInvalidArgument for a max_pasid that sizes
// no directory.
absl::Status EncodePasid(const PasidState& state, uint64_t dir_pa, uint64_t max_pasid,
                         ImageBuilder& builder);

// PasidEntriesClean: each of the `count` PASID entries (64 bytes each) at
// `entries` is well formed, i.e. vtd_pasid_entry_problems() is 0 for it: the
// decoder's fast path, which only sends tables with something to report to
// the entry-by-entry walk. Exactly that predicate (tests/pasid_test.cc),
// computed with the rules tabulated from vtd_pasid_entry_problems itself and
// no branch per entry. REQUIRES: count * 64 readable bytes at `entries`.
bool PasidEntriesClean(const uint8_t* entries, uint32_t count);

// What the PASID-0 entry is compared with (candidate checks, warnings).
struct PasidAttachment {
  const IommuDomain* domain = nullptr;  // the device's live domain, if resolved
  uint64_t attachment_id = 0;
  uint64_t device_pa = 0;  // the device record, for reports about its fields
};

// DecodePasid validates a device's PASID state: the pasid_table/max_pasid
// pair, the directory (claimed with order log2(max_pasid) - 15) and every
// present table (claimed, order 0), entry by entry, under `policy`
// (kNoPasidOnly or kAllPresent). Call with ctx.path at the device's
// "intel". Returns false if an error was reported.
bool DecodePasid(uint64_t pasid_table, uint64_t max_pasid, PasidPolicy policy,
                 const PasidAttachment& attachment, DecodeContext& ctx, uint64_t* tables_seen,
                 PasidState* out);

}  // namespace khoabi

#endif  // KHOABI_LIB_PASID_H_
