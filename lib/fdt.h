// fdt.h: the FDT layers' checks and writer, over libfdt.
//
// The KHO root FDT and the LUO FDT are one page each. A decoder copies the
// page out of the image into an FdtPage and runs CheckFdt before any lookup:
// header (version >= 17, last compatible version <= 17, totalsize within the
// page), libfdt's fdt_check_full, node depth, and duplicate names, which
// libfdt does not look for. After that, libfdt's read-only API is safe on the
// page. u64 properties are KHO's: 8 raw native-endian (little-endian) bytes,
// not FDT big-endian cells.
#ifndef KHOABI_LIB_FDT_H_
#define KHOABI_LIB_FDT_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/diagnostics.h"
#include "lib/image.h"
#include "lib/options.h"

namespace khoabi {

struct alignas(8) FdtPage {
  uint8_t bytes[kPageSize];
};

// CheckFdt validates `page` as an FDT that fits in it. Reports fdt_* reasons
// and limit_fdt_depth at `path`; `pa` is where the page came from. Returns
// true if libfdt's read-only API may be used on it.
bool CheckFdt(const FdtPage& page, uint64_t pa, const Options& options, Path& path,
              Diagnostics& diag);

// MatchCompatible returns the index in `accepted` of the first entry of the
// node's "compatible" string list that is accepted, or -1 after reporting
// missing_property, fdt_unterminated_string (strict) or unknown_compatible.
int MatchCompatible(const FdtPage& page, int node, std::initializer_list<const char*> accepted,
                    uint64_t pa, Path& path, Diagnostics& diag);

// GetU64Property reads a KHO u64 property (8 raw little-endian bytes).
// Reports missing_property, bad_property_size, and, if `nonzero`, zero_pa.
bool GetU64Property(const FdtPage& page, int node, const char* name, bool nonzero, uint64_t pa,
                    Path& path, Diagnostics& diag, uint64_t* out);

// FdtNodeNameMatches: whether libfdt's fdt_subnode_offset(..., wanted) takes a
// node called `node`: the same name, or (when `wanted` has no unit address)
// the name followed by "@unit-address". The kernel finds KHO sub-nodes this
// way, and takes the first match (kho_retrieve_subtree).
bool FdtNodeNameMatches(absl::string_view node, absl::string_view wanted);

// FdtWriter builds a one-page FDT with libfdt's sequential-write API.
class FdtWriter {
 public:
  FdtWriter();
  void BeginNode(const char* name);
  void EndNode();
  void PropertyString(const char* name, absl::string_view value);
  void PropertyU64(const char* name, uint64_t value);  // 8 raw native-endian bytes
  void Property(const char* name, const void* value, int len);
  // Finish returns the page (the FDT, then zeros) or the first libfdt error.
  absl::StatusOr<std::vector<uint8_t>> Finish() &&;

 private:
  void Check(int err, const char* what);
  std::vector<uint8_t> buf_;
  std::string error_;
};

}  // namespace khoabi

#endif  // KHOABI_LIB_FDT_H_
