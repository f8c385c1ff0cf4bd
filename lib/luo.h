// luo.h: the Live Update Orchestrator layer: LUO FDT and FLB header page
// (spec/handoff.md), encoder and decoder side by side.
#ifndef KHOABI_LIB_LUO_H_
#define KHOABI_LIB_LUO_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/decode_context.h"

namespace khoabi {

// One FLB entry, with its 48 name bytes exactly as stored.
struct FlbEntry {
  std::array<char, 48> name_bytes{};
  uint64_t data = 0;
  uint64_t count = 0;

  static FlbEntry Make(absl::string_view name, uint64_t data, uint64_t count);
  // The name up to its NUL (all 48 bytes if there is none).
  absl::string_view name() const;

  friend bool operator==(const FlbEntry& a, const FlbEntry& b) {
    return a.name_bytes == b.name_bytes && a.data == b.data && a.count == b.count;
  }
};

struct LuoModel {
  uint64_t fdt_pa = 0;
  uint64_t liveupdate_number = 0;
  uint64_t flb_header_pa = 0;
  uint64_t flb_pgcnt = 1;
  std::vector<FlbEntry> flbs;
  // The LUO FDT page as found in a decoded image; empty when the encoder is
  // to build it (see KhoModel::root_fdt_raw).
  std::vector<uint8_t> fdt_raw;

  // Semantic equality: fdt_raw is not compared.
  friend bool operator==(const LuoModel& a, const LuoModel& b) {
    return a.fdt_pa == b.fdt_pa && a.liveupdate_number == b.liveupdate_number &&
           a.flb_header_pa == b.flb_header_pa && a.flb_pgcnt == b.flb_pgcnt && a.flbs == b.flbs;
  }
};

absl::StatusOr<std::vector<uint8_t>> BuildLuoFdt(const LuoModel& m);
// BuildFlbHeaderPage: header, entries, zeros. kInvalidArgument if more than
// fit in a page.
absl::StatusOr<std::vector<uint8_t>> BuildFlbHeaderPage(const LuoModel& m);

// DecodeLuo decodes the LUO FDT at `fdt_pa` and the FLB header page, claiming
// both (order 0). Returns false if an error was reported.
bool DecodeLuo(uint64_t fdt_pa, DecodeContext& ctx, LuoModel* out);

}  // namespace khoabi

#endif  // KHOABI_LIB_LUO_H_
