#include "lib/kho.h"

#include <libfdt.h>

#include <cstring>

#include "abi/kexec_handover.h"
#include "lib/decode_scratch.h"
#include "lib/fdt.h"

namespace khoabi {

const char* KhoSubnodeDataProperty(KhoVersion v) {
  return v == KhoVersion::kV1 ? KHO_V1_PROP_SUB_FDT : KHO_V2_PROP_SUB_DATA;
}

absl::StatusOr<std::vector<uint8_t>> BuildKhoRootFdt(const KhoModel& m) {
  if (!m.root_fdt_raw.empty()) return m.root_fdt_raw;
  FdtWriter w;
  w.BeginNode("");
  w.PropertyString("compatible", KhoVersionName(m.version));
  w.PropertyU64(KHO_PROP_PRESERVED_MEMORY_MAP, m.tracker.root_pa());
  for (const KhoSubnode& sub : m.subnodes) {
    w.BeginNode(sub.name.c_str());
    w.PropertyU64(KhoSubnodeDataProperty(m.version), sub.data_pa);
    w.EndNode();
  }
  w.EndNode();
  return std::move(w).Finish();
}

namespace {

// Tracker pages are metadata the restoring kernel walks once at boot
// (kho_preserved_memory_reserve() for kho-v2, kho_mem_deserialize() for
// kho-v1). A tracker page inside a preserved folio has a second owner: the
// folio's restorer uses the same memory, and neither walk checks for it.
// REQUIRES: ctx.memory is finalized.
bool CheckTrackerPagesNotPreserved(const TrackerModel& t, DecodeContext& ctx) {
  bool ok = true;
  auto check = [&](uint64_t pa) {
    const PreservedMemory::Entry* e = ctx.memory.Covering(pa);
    if (e == nullptr) return;
    ok = !ctx.Report(Reason::kTrackerPagePreserved, pa,
                     "inside the preserved order-%u folio at %#llx", e->order,
                     static_cast<unsigned long long>(e->pa)) &&
         ok;
  };
  Path::Scope s = ctx.path.Enter("tracker");
  for (const RadixPage& p : t.radix_pages) {
    // The paths of the tracker walk: radix.level[L].table[P], radix.leaf[P].
    Path::Scope r = ctx.path.Enter("radix");
    if (p.level == 0) {
      Path::Scope n = ctx.path.Enter("leaf", p.prefix);
      check(p.pa);
    } else {
      Path::Scope l = ctx.path.Enter("level", p.level);
      Path::Scope n = ctx.path.Enter("table", p.prefix);
      check(p.pa);
    }
    if (ctx.stop()) return false;
  }
  for (size_t i = 0; i < t.chunks.size(); ++i) {
    Path::Scope c = ctx.path.Enter("chunks");
    Path::Scope ci = ctx.path.Enter("chunk", i);
    check(t.chunks[i].pa);
    for (size_t j = 0; j < t.chunks[i].entries.size(); ++j) {
      Path::Scope e = ctx.path.Enter("entry", j);
      Path::Scope b = ctx.path.Enter("bitmap");
      check(t.chunks[i].entries[j].bitmap_pa);
    }
    if (ctx.stop()) return false;
  }
  return ok;
}

}  // namespace

bool DecodeKho(uint64_t root_pa, const char* required_subnode, DecodeContext& ctx, KhoModel* out) {
  Path::Scope kho = ctx.path.Enter("kho");
  DecodeScratch own;
  DecodeScratch& scratch = ScratchFor(ctx, own);
  out->root_fdt_pa = root_pa;
  for (auto it = out->subnodes.rbegin(); it != out->subnodes.rend(); ++it) {
    scratch.subnode_names.Give(std::move(it->name));
  }
  out->subnodes.clear();
  FdtPage page;
  {
    Path::Scope s = ctx.path.Enter("root_fdt");
    if (!ctx.reader.Read(root_pa, page.bytes, kPageSize)) {
      ctx.Report(Reason::kPaOutsideImage, root_pa, "the KHO root FDT page is not in the image");
      return false;
    }
    out->root_fdt_raw.assign(page.bytes, page.bytes + kPageSize);
    if (!ctx.Charge(kPageSize / 8)) return false;
    if (!CheckFdt(page, root_pa, ctx.options, ctx.path, ctx.diag)) return false;
    const int v = MatchCompatible(page, 0, {KHO_V1_FDT_COMPATIBLE, KHO_V2_FDT_COMPATIBLE}, root_pa,
                                  ctx.path, ctx.diag);
    if (v < 0) return false;
    out->version = v == 0 ? KhoVersion::kV1 : KhoVersion::kV2;
  }

  // Sub-nodes: one per KHO user. The required one is the node the kernel's
  // kho_retrieve_subtree() takes: fdt_subnode_offset()'s, the first whose
  // name matches, unit address or not.
  bool ok = true;
  const int required_node =
      required_subnode == nullptr ? -1 : fdt_subnode_offset(page.bytes, 0, required_subnode);
  int child;
  fdt_for_each_subnode(child, page.bytes, 0) {
    const char* name = fdt_get_name(page.bytes, child, nullptr);
    if (name == nullptr) continue;
    const bool required = required_node >= 0 && child == required_node;
    uint64_t data = 0;
    if (required) {
      Path::Scope s = ctx.path.Enter(required_subnode);
      if (!GetU64Property(page, child, KhoSubnodeDataProperty(out->version), true, root_pa,
                          ctx.path, ctx.diag, &data)) {
        ok = false;
        if (ctx.stop()) return false;
        continue;
      }
    } else {
      int len = 0;
      const void* v = fdt_getprop(page.bytes, child, KhoSubnodeDataProperty(out->version), &len);
      if (v == nullptr || len != 8) continue;  // not ours to judge
      std::memcpy(&data, v, 8);
    }
    out->subnodes.push_back({scratch.subnode_names.Take(), data});
    out->subnodes.back().name.assign(name);
  }

  uint64_t map_pa = 0;
  {
    Path::Scope s = ctx.path.Enter("root_fdt");
    // kho-v1 reads a 0 map as empty; kho-v2 rejects it. A handoff always
    // preserves at least its own FDT pages, so 0 is an error in both.
    if (!GetU64Property(page, 0, KHO_PROP_PRESERVED_MEMORY_MAP, true, root_pa, ctx.path, ctx.diag,
                        &map_pa)) {
      return false;
    }
  }
  ok = DecodeTracker(out->version, map_pa, ctx, &out->tracker) && ok;
  if (ctx.stop()) return false;
  ok = ctx.memory.Finalize(ctx.reader, ctx.path, ctx.diag) && ok;
  if (ctx.stop()) return false;
  ok = CheckTrackerPagesNotPreserved(out->tracker, ctx) && ok;
  if (ctx.stop()) return false;
  {
    Path::Scope s = ctx.path.Enter("root_fdt");
    ok = ctx.memory.Claim(root_pa, 0, ctx.path, ctx.diag) && ok;
  }
  return ok;
}

}  // namespace khoabi
