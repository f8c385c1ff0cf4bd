// abi_layout.h: the layout manifest of every record of every ABI version.
//
// The manifest lists, for each ABI version khoabi describes, every serialized
// record with its size and its fields (name, offset, size). It is computed by
// the compiler from the headers in //abi (sizeof/offsetof), never typed twice:
// tests compare it with the DWARF of compiled objects (pahole) and with the
// golden file tests/testdata/abi_layout.json.
//
// Example:
//   for (const AbiRecord& r : AbiRecords()) {
//     std::cout << r.abi << " " << r.upstream_struct << " " << r.size << "\n";
//   }
#ifndef KHOABI_LIB_ABI_LAYOUT_H_
#define KHOABI_LIB_ABI_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace khoabi {

// One ABI version of one layer.
struct AbiVersion {
  std::string id;          // stable identifier, e.g. "iommu-liveupdate-v1"
  std::string alias;       // short name, e.g. "A"; may be empty
  std::string layer;       // "kho", "luo", "iommu", "vtd"
  std::string compatible;  // compatible string that names it ("" for vtd)
  uint64_t version = 0;    // numeric version field, 0 when there is none
};

struct FieldLayout {
  std::string name;
  uint64_t offset = 0;
  uint64_t size = 0;
};

struct RecordLayout {
  std::string abi;              // AbiVersion::id
  std::string upstream_struct;  // upstream name, e.g. "iommu_domain_ser"
  std::string c_type;           // name in //abi, e.g. "iommu_domain_ser_a"
  uint64_t size = 0;
  uint64_t per_page = 0;  // objects per array page; 0 if not an array object
  std::vector<FieldLayout> fields;
};

struct LayoutManifest {
  std::vector<AbiVersion> abis;
  std::vector<RecordLayout> records;

  // FindAbi returns the ABI named by id or alias, or nullptr.
  const AbiVersion* FindAbi(absl::string_view id_or_alias) const;
  // RecordsOf returns the records of one ABI, in manifest order.
  std::vector<const RecordLayout*> RecordsOf(absl::string_view abi_id) const;
};

// BuiltinManifest returns the manifest of every ABI version in //abi.
const LayoutManifest& BuiltinManifest();

// ManifestToJson renders `m` as JSON: {"abis": [...], "records": [...]} where
// each record is {"abi", "struct", "c_type", "size", "per_page"?, "fields":
// [{"name", "offset", "size"}]}. Deterministic; ends with a newline.
std::string ManifestToJson(const LayoutManifest& m);

// ManifestFromJson parses what ManifestToJson writes. Also accepts a bare
// array of records (then `abis` is empty). Returns kInvalidArgument with the
// reason on malformed input.
absl::StatusOr<LayoutManifest> ManifestFromJson(absl::string_view json);

// ManifestToText renders a human-readable table, one block per record.
std::string ManifestToText(const LayoutManifest& m);

}  // namespace khoabi

#endif  // KHOABI_LIB_ABI_LAYOUT_H_
