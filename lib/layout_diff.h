// layout_diff.h: compare layout manifests record by record.
//
// The kernel's contract for a KHO ABI is that a serialized layout never changes
// under the same compatible string (and version): any change needs a new one.
// DiffAbi compares two ABI versions record by record and classifies each:
//
//   identical   same size, same fields (name, offset, size).
//   compatible  same size; every field of the old record is still there at the
//               same offset and size (a rename counts as compatible, since the
//               bytes mean the same); new fields only occupy bytes the old
//               record reserved (fields named padding*, reserved*, rsvd*,
//               unused*). Records only in the new ABI are additions.
//   breaking    anything else: a size change, a field moved, resized, removed
//               or overlapping old data, a record removed.
//
// The verdict of an ABI pair adds the contract: a breaking change is fine only
// if the compatible string or the version changed.
#ifndef KHOABI_LIB_LAYOUT_DIFF_H_
#define KHOABI_LIB_LAYOUT_DIFF_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/abi_layout.h"

namespace khoabi {

enum class Compat { kIdentical = 0, kCompatible = 1, kBreaking = 2 };

absl::string_view CompatName(Compat c);

struct RecordDiff {
  std::string struct_name;  // upstream name
  Compat compat = Compat::kIdentical;
  std::vector<std::string> changes;  // one human-readable line per change
};

enum class Verdict {
  kIdentical,            // every record identical, same names
  kCompatible,           // no breaking change
  kBreakingNewVersion,   // breaking, and the compatible string or version changed
  kBreakingSameVersion,  // breaking under the same compatible string and version
};

absl::string_view VerdictName(Verdict v);

struct AbiDiff {
  AbiVersion old_abi;
  AbiVersion new_abi;
  bool compatible_changed = false;
  bool version_changed = false;
  std::vector<RecordDiff> records;  // every record of either side
  Verdict verdict = Verdict::kIdentical;

  // Ok is false exactly for kBreakingSameVersion: the kernel's contract is broken.
  bool Ok() const { return verdict != Verdict::kBreakingSameVersion; }
};

// DiffRecord compares one record's two layouts.
RecordDiff DiffRecord(const RecordLayout& old_r, const RecordLayout& new_r);

// DiffAbi compares the records of `old_abi` in `old_m` with those of `new_abi`
// in `new_m`, pairing records by upstream struct name.
AbiDiff DiffAbi(const LayoutManifest& old_m, const AbiVersion& old_abi, const LayoutManifest& new_m,
                const AbiVersion& new_abi);

// DiffManifests pairs ABI versions by id and diffs each pair. An ABI present
// only in `old_m` comes out as breaking (all its records removed) under the
// same version; one only in `new_m` as compatible (an addition). Records whose
// ABI is not listed in a manifest's `abis` are grouped by their `abi` string.
std::vector<AbiDiff> DiffManifests(const LayoutManifest& old_m, const LayoutManifest& new_m);

// FormatAbiDiff renders a report: the verdict, the names/version, then every
// record that is not identical with its changes.
std::string FormatAbiDiff(const AbiDiff& d);

}  // namespace khoabi

#endif  // KHOABI_LIB_LAYOUT_DIFF_H_
