#include "lib/luo.h"

#include <libfdt.h>

#include <algorithm>
#include <cstring>

#include "abi/luo.h"
#include "absl/strings/str_format.h"
#include "lib/fdt.h"

namespace khoabi {

FlbEntry FlbEntry::Make(absl::string_view name, uint64_t data, uint64_t count) {
  FlbEntry e;
  std::memcpy(e.name_bytes.data(), name.data(), std::min(name.size(), e.name_bytes.size()));
  e.data = data;
  e.count = count;
  return e;
}

absl::string_view FlbEntry::name() const {
  const void* nul = std::memchr(name_bytes.data(), '\0', name_bytes.size());
  const size_t len = nul == nullptr
                         ? name_bytes.size()
                         : static_cast<size_t>(static_cast<const char*>(nul) - name_bytes.data());
  return absl::string_view(name_bytes.data(), len);
}

absl::StatusOr<std::vector<uint8_t>> BuildLuoFdt(const LuoModel& m) {
  if (!m.fdt_raw.empty()) return m.fdt_raw;
  FdtWriter w;
  w.BeginNode("");
  w.PropertyString("compatible", LUO_FDT_COMPATIBLE);
  w.PropertyU64(LUO_FDT_PROP_LIVEUPDATE_NUMBER, m.liveupdate_number);
  w.BeginNode(LUO_FDT_FLB_NODE_NAME);
  w.PropertyString("compatible", LUO_FDT_FLB_COMPATIBLE);
  w.PropertyU64(LUO_FDT_FLB_PROP_HEADER, m.flb_header_pa);
  w.EndNode();
  w.EndNode();
  return std::move(w).Finish();
}

absl::StatusOr<std::vector<uint8_t>> BuildFlbHeaderPage(const LuoModel& m) {
  if (m.flbs.size() > LUO_FLB_ENTRIES_PER_PAGE) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%u FLB entries do not fit in one header page (at most %u)", m.flbs.size(),
                        static_cast<unsigned>(LUO_FLB_ENTRIES_PER_PAGE)));
  }
  std::vector<uint8_t> page(kPageSize, 0);
  luo_flb_header_ser hdr{m.flb_pgcnt, m.flbs.size()};
  std::memcpy(page.data(), &hdr, sizeof hdr);
  for (size_t i = 0; i < m.flbs.size(); ++i) {
    luo_flb_ser e{};
    std::memcpy(e.name, m.flbs[i].name_bytes.data(), sizeof e.name);
    e.data = m.flbs[i].data;
    e.count = m.flbs[i].count;
    std::memcpy(page.data() + sizeof hdr + i * sizeof e, &e, sizeof e);
  }
  return page;
}

namespace {

bool DecodeFlbHeader(uint64_t pa, DecodeContext& ctx, LuoModel* out) {
  Path::Scope s = ctx.path.Enter("flb_header");
  if (!ctx.memory.Claim(pa, 0, ctx.path, ctx.diag)) return false;
  absl::Span<const uint8_t> page = ctx.reader.Bytes(pa, kPageSize);
  if (!ctx.Charge(kPageSize / 8)) return false;
  luo_flb_header_ser hdr;
  std::memcpy(&hdr, page.data(), sizeof hdr);
  out->flb_pgcnt = hdr.pgcnt;
  bool ok = true;
  if (hdr.pgcnt != 1) {
    Path::Scope f = ctx.path.Enter("pgcnt");
    ok = !ctx.Report(Reason::kFlbBadPageCount, pa, "pgcnt %llu, want 1",
                     static_cast<unsigned long long>(hdr.pgcnt)) &&
         ok;
  }
  if (hdr.count > LUO_FLB_ENTRIES_PER_PAGE) {
    Path::Scope f = ctx.path.Enter("count");
    ctx.Report(Reason::kFlbCountOverCapacity, pa, "count %llu > %u",
               static_cast<unsigned long long>(hdr.count),
               static_cast<unsigned>(LUO_FLB_ENTRIES_PER_PAGE));
    return false;
  }
  for (uint64_t i = 0; i < hdr.count; ++i) {
    Path::Scope es = ctx.path.Enter("entry", i);
    const uint64_t at = sizeof hdr + i * sizeof(luo_flb_ser);
    luo_flb_ser raw;
    std::memcpy(&raw, page.data() + at, sizeof raw);
    FlbEntry e;
    std::memcpy(e.name_bytes.data(), raw.name, sizeof raw.name);
    e.data = raw.data;
    e.count = raw.count;
    if (std::memchr(raw.name, '\0', sizeof raw.name) == nullptr) {
      Path::Scope f = ctx.path.Enter("name");
      ok = !ctx.Report(Reason::kFlbNameUnterminated, pa + at, "no NUL in %u bytes",
                       static_cast<unsigned>(sizeof raw.name)) &&
           ok;
    } else {
      for (const FlbEntry& prev : out->flbs) {
        if (prev.name() == e.name()) {
          Path::Scope f = ctx.path.Enter("name");
          ok = !ctx.Report(Reason::kFlbDuplicateName, pa + at, "\"%.*s\" again",
                           static_cast<int>(e.name().size()), e.name().data()) &&
               ok;
          break;
        }
      }
    }
    if (raw.count == 0) {
      Path::Scope f = ctx.path.Enter("count");
      ctx.Report(Reason::kFlbZeroCount, pa + at, "no preserved file depends on it");
    }
    out->flbs.push_back(e);
    if (ctx.stop()) return false;
  }
  // The rest of the page is zero (kho_alloc_preserve zeroes it).
  const uint64_t used = sizeof hdr + hdr.count * sizeof(luo_flb_ser);
  const uint64_t at = used + FirstNonZero(page.subspan(static_cast<size_t>(used)));
  if (at < kPageSize) {
    Path::Scope f = ctx.path.Enter("unused");
    ok = !ctx.Report(Reason::kUnusedBytesNotZero, pa + at, "byte %llu after the last entry is %#x",
                     static_cast<unsigned long long>(at), page[at]) &&
         ok;
  }
  return ok;
}

}  // namespace

bool DecodeLuo(uint64_t fdt_pa, DecodeContext& ctx, LuoModel* out) {
  Path::Scope luo = ctx.path.Enter("luo");
  out->fdt_pa = fdt_pa;
  out->flbs.clear();
  FdtPage page;
  uint64_t header_pa = 0;
  {
    Path::Scope s = ctx.path.Enter("fdt");
    if (!ctx.memory.Claim(fdt_pa, 0, ctx.path, ctx.diag)) return false;
    ctx.reader.Read(fdt_pa, page.bytes, kPageSize);  // claimed: in the image
    out->fdt_raw.assign(page.bytes, page.bytes + kPageSize);
    if (!ctx.Charge(kPageSize / 8)) return false;
    if (!CheckFdt(page, fdt_pa, ctx.options, ctx.path, ctx.diag)) return false;
    if (MatchCompatible(page, 0, {LUO_FDT_COMPATIBLE}, fdt_pa, ctx.path, ctx.diag) < 0) {
      return false;
    }
    if (!GetU64Property(page, 0, LUO_FDT_PROP_LIVEUPDATE_NUMBER, false, fdt_pa, ctx.path, ctx.diag,
                        &out->liveupdate_number)) {
      return false;
    }
    const int flb = fdt_subnode_offset(page.bytes, 0, LUO_FDT_FLB_NODE_NAME);
    Path::Scope fs = ctx.path.Enter(LUO_FDT_FLB_NODE_NAME);
    if (flb < 0) {
      ctx.Report(Reason::kMissingNode, fdt_pa, "no \"%s\" node", LUO_FDT_FLB_NODE_NAME);
      return false;
    }
    if (MatchCompatible(page, flb, {LUO_FDT_FLB_COMPATIBLE}, fdt_pa, ctx.path, ctx.diag) < 0) {
      return false;
    }
    if (!GetU64Property(page, flb, LUO_FDT_FLB_PROP_HEADER, true, fdt_pa, ctx.path, ctx.diag,
                        &header_pa)) {
      return false;
    }
  }
  out->flb_header_pa = header_pa;
  return DecodeFlbHeader(header_pa, ctx, out);
}

}  // namespace khoabi
