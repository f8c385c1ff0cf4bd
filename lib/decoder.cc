#include "lib/decoder.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "abi/iommu.h"
#include "abi/luo.h"
#include "absl/strings/match.h"
#include "lib/decode_context.h"
#include "lib/fdt.h"
#include "lib/iommu.h"
#include "lib/kho.h"
#include "lib/luo.h"

namespace khoabi {

namespace {

// Names of the IOMMU live-update family: a newer version, or the Feb 2026
// posting's "iommu-v1". Other FLBs are not ours to judge.
bool IsIommuFamilyName(absl::string_view name) {
  return absl::StartsWith(name, IOMMU_B_FLB_COMPATIBLE) || name == "iommu-v1";
}

}  // namespace

const DecodeResult& Decoder::Decode(const ImageView& image) {
  DecodeResult& r = result_;
  r.diag.Reset(options_);
  r.memory.Clear();
  // Forget the previous decode, keeping its storage for this one.
  for (auto it = r.handoff.blobs.rbegin(); it != r.handoff.blobs.rend(); ++it) {
    scratch_.blob_bytes.Give(std::move(it->bytes));
  }
  r.handoff.kho.root_fdt_pa = 0;
  r.handoff.kho.version = KhoVersion::kV2;
  for (auto it = r.handoff.kho.subnodes.rbegin(); it != r.handoff.kho.subnodes.rend(); ++it) {
    scratch_.subnode_names.Give(std::move(it->name));
  }
  r.handoff.kho.subnodes.clear();
  r.handoff.kho.root_fdt_raw.clear();
  r.handoff.kho.tracker.folios.clear();
  r.handoff.kho.tracker.radix_pages.clear();
  for (auto it = r.handoff.kho.tracker.chunks.rbegin(); it != r.handoff.kho.tracker.chunks.rend();
       ++it) {
    scratch_.chunk_entries.Give(std::move(it->entries));
  }
  r.handoff.kho.tracker.chunks.clear();
  r.handoff.blobs.clear();
  {
    LuoModel fresh;
    fresh.flbs.swap(r.handoff.luo.flbs);
    fresh.fdt_raw.swap(r.handoff.luo.fdt_raw);
    fresh.flbs.clear();
    fresh.fdt_raw.clear();
    r.handoff.luo = std::move(fresh);
  }
  if (r.handoff.iommu.has_value()) {
    scratch_.spare_iommu = *std::move(r.handoff.iommu);
    r.handoff.iommu.reset();
  }
  Path path;
  WorkMeter work;
  const uint64_t image_bytes = image.total_bytes();
  work.Reset(options_.max_work != 0 ? options_.max_work : WorkBudget(image_bytes));
  ImageReader reader(image);
  DecodeContext ctx{reader, options_, path, r.diag, work, r.memory, &scratch_};

  r.policy = options_.pasid_policy;
  auto finish = [&]() -> const DecodeResult& {
    r.work = work.used();
    r.work_budget = work.budget();
    return r;
  };

  if (image_bytes > options_.max_image_bytes) {
    ctx.Report(Reason::kLimitImageSize, kNoPa, "%llu bytes > %llu",
               static_cast<unsigned long long>(image_bytes),
               static_cast<unsigned long long>(options_.max_image_bytes));
    return finish();
  }

  if (!DecodeKho(image.root_pa, LUO_KHO_NODE_NAME, ctx, &r.handoff.kho) && ctx.stop()) {
    return finish();
  }
  // Without a tracker nothing can be claimed: the rest would only echo that.
  if (!r.memory.finalized()) return finish();
  // The LUO node the kernel restores from: the first that
  // fdt_subnode_offset() matches ("LUO", or "LUO@..."); DecodeKho checked it.
  const KhoSubnode* luo_node = nullptr;
  for (const KhoSubnode& sub : r.handoff.kho.subnodes) {
    if (FdtNodeNameMatches(sub.name, LUO_KHO_NODE_NAME)) {
      luo_node = &sub;
      break;
    }
  }
  if (luo_node == nullptr) {
    if (r.diag.ok()) {
      Path::Scope s = path.Enter("kho");
      Path::Scope l = path.Enter(LUO_KHO_NODE_NAME);
      ctx.Report(Reason::kMissingNode, image.root_pa, "the KHO root has no \"%s\" node",
                 LUO_KHO_NODE_NAME);
    }
    return finish();
  }
  if (!DecodeLuo(luo_node->data_pa, ctx, &r.handoff.luo) && ctx.stop()) return finish();

  // The IOMMU FLB entry. Other FLBs are not ours to judge; a name of the
  // IOMMU live-update family that no supported ABI uses (a newer version, or
  // the Feb 2026 posting's "iommu-v1") is an unsupported version.
  const FlbEntry* iommu_entry = nullptr;
  std::optional<IommuAbi> abi;
  {
    Path::Scope s = path.Enter("luo");
    Path::Scope f = path.Enter("flb_header");
    int known = 0;
    size_t unknown = 0;
    for (size_t i = 0; i < r.handoff.luo.flbs.size(); ++i) {
      const FlbEntry& e = r.handoff.luo.flbs[i];
      if (std::optional<IommuAbi> a = IommuAbiFromName(e.name()); a.has_value()) {
        ++known;
        iommu_entry = &e;
        abi = a;
      } else if (IsIommuFamilyName(e.name())) {
        ++unknown;
      }
    }
    if (known > 1) {
      ctx.Report(Reason::kFlbAmbiguousIommu, r.handoff.luo.flb_header_pa, "%d IOMMU entries",
                 known);
      iommu_entry = nullptr;
    } else if (known == 0 && unknown != 0) {
      for (size_t i = 0; i < r.handoff.luo.flbs.size(); ++i) {
        const absl::string_view name = r.handoff.luo.flbs[i].name();
        if (!IsIommuFamilyName(name)) continue;
        Path::Scope en = path.Enter("entry", i);
        ctx.Report(
            Reason::kIommuUnknownCompatible,
            r.handoff.luo.flb_header_pa + sizeof(luo_flb_header_ser) + i * sizeof(luo_flb_ser),
            "\"%.*s\" is no IOMMU ABI this decoder supports", static_cast<int>(name.size()),
            name.data());
      }
    } else if (known == 0 && options_.require_iommu && r.diag.ok()) {
      ctx.Report(Reason::kFlbNoIommuEntry, r.handoff.luo.flb_header_pa,
                 "no entry named \"%s\" or \"%s\"", IOMMU_A_FLB_COMPATIBLE, IOMMU_B_FLB_COMPATIBLE);
    }
  }
  if (ctx.stop()) return finish();

  if (iommu_entry != nullptr) {
    const bool accepted = *abi == IommuAbi::kA ? options_.accept_iommu_a : options_.accept_iommu_b;
    if (!accepted) {
      Path::Scope s = path.Enter("iommu");
      const absl::string_view abi_name = IommuAbiName(*abi), name = iommu_entry->name();
      ctx.Report(Reason::kIommuAbiNotAccepted, iommu_entry->data,
                 "ABI %.*s (\"%.*s\") is valid but not accepted by this decoder",
                 static_cast<int>(abi_name.size()), abi_name.data(), static_cast<int>(name.size()),
                 name.data());
    } else {
      // Copy: iommu_entry points into r.handoff.luo, which stays put.
      const FlbEntry entry = *iommu_entry;
      r.handoff.iommu.emplace(std::move(scratch_.spare_iommu));
      DecodeIommu(*abi, entry, ctx, &*r.handoff.iommu, &r.handoff.blobs);
      std::sort(r.handoff.blobs.begin(), r.handoff.blobs.end(),
                [](const BlobFolio& a, const BlobFolio& b) { return a.pa < b.pa; });
    }
  }
  if (ctx.stop()) return finish();

  // Leaked folios only mean something when the rest was restored.
  if (r.diag.ok()) {
    Path::Scope s = path.Enter("kho");
    r.memory.ReportUnclaimed(path, r.diag);
  }
  return finish();
}

absl::StatusOr<HandoffModel> DecodeHandoff(const ImageView& image, const Options& options) {
  Decoder decoder(options);
  const DecodeResult& r = decoder.Decode(image);
  if (!r.ok()) return r.diag.ToStatus();
  return r.handoff;
}

}  // namespace khoabi
