// kho.h: the KHO core layer, root FDT and tracker together (spec/handoff.md).
#ifndef KHOABI_LIB_KHO_H_
#define KHOABI_LIB_KHO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/decode_context.h"
#include "lib/kho_tracker.h"

namespace khoabi {

// A KHO user's node in the root FDT, e.g. {"LUO", PA of the LUO FDT}.
struct KhoSubnode {
  std::string name;
  uint64_t data_pa = 0;

  friend bool operator==(const KhoSubnode& a, const KhoSubnode& b) {
    return a.name == b.name && a.data_pa == b.data_pa;
  }
};

struct KhoModel {
  KhoVersion version = KhoVersion::kV2;
  uint64_t root_fdt_pa = 0;
  std::vector<KhoSubnode> subnodes;  // in FDT order
  TrackerModel tracker;              // tracker.format == version
  // The root FDT page as found in a decoded image; empty when the encoder is
  // to build it. Kept so that re-encoding a decoded handoff reproduces the
  // page byte for byte whatever libfdt wrote it.
  std::vector<uint8_t> root_fdt_raw;

  // Semantic equality: root_fdt_raw is not compared.
  friend bool operator==(const KhoModel& a, const KhoModel& b) {
    return a.version == b.version && a.root_fdt_pa == b.root_fdt_pa && a.subnodes == b.subnodes &&
           a.tracker == b.tracker;
  }
};

// The data property of a sub-node in each KHO version.
const char* KhoSubnodeDataProperty(KhoVersion v);

// BuildKhoRootFdt returns the root FDT page for `m` (root_fdt_raw if set).
absl::StatusOr<std::vector<uint8_t>> BuildKhoRootFdt(const KhoModel& m);

// DecodeKho reads the root FDT at `root_pa`, decodes the tracker into
// ctx.memory (finalized), and claims the root FDT page. Sub-nodes whose data
// property is malformed are reported only if they are the node the kernel
// looks `required_subnode` up as (fdt_subnode_offset: the first named so, with
// or without a unit address); others are skipped, as the kernel ignores other
// users.
bool DecodeKho(uint64_t root_pa, const char* required_subnode, DecodeContext& ctx, KhoModel* out);

}  // namespace khoabi

#endif  // KHOABI_LIB_KHO_H_
