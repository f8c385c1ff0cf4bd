#include "lib/decoder.h"

#include "abi/iommu.h"
#include "abi/luo.h"
#include "absl/strings/match.h"
#include "lib/decode_context.h"
#include "lib/kho.h"
#include "lib/luo.h"

namespace khoabi {

const DecodeResult& Decoder::Decode(const ImageView& image) {
  DecodeResult& r = result_;
  r.diag.Reset(options_);
  r.memory.Clear();
  r.handoff.blobs.clear();
  r.handoff.luo = LuoModel{};
  Path path;
  WorkMeter work;
  const uint64_t image_bytes = image.total_bytes();
  work.Reset(options_.max_work != 0 ? options_.max_work : WorkBudget(image_bytes));
  ImageReader reader(image);
  DecodeContext ctx{reader, options_, path, r.diag, work, r.memory};

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
  const KhoSubnode* luo_node = nullptr;
  for (const KhoSubnode& sub : r.handoff.kho.subnodes) {
    if (sub.name == LUO_KHO_NODE_NAME) luo_node = &sub;
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

  // The IOMMU FLB entry.
  {
    Path::Scope s = path.Enter("luo");
    Path::Scope f = path.Enter("flb_header");
    int known = 0;
    for (size_t i = 0; i < r.handoff.luo.flbs.size(); ++i) {
      const absl::string_view name = r.handoff.luo.flbs[i].name();
      if (name == IOMMU_A_FLB_COMPATIBLE || name == IOMMU_B_FLB_COMPATIBLE) {
        ++known;
      } else if (absl::StartsWith(name, "iommu")) {
        Path::Scope e = path.Enter("entry", i);
        ctx.Report(Reason::kIommuUnknownCompatible, r.handoff.luo.flb_header_pa, "\"%s\"",
                   std::string(name).c_str());
      }
    }
    if (known > 1) {
      ctx.Report(Reason::kFlbAmbiguousIommu, r.handoff.luo.flb_header_pa, "%d IOMMU entries",
                 known);
    } else if (known == 0 && options_.require_iommu &&
               !r.diag.Has(Reason::kIommuUnknownCompatible) && r.diag.ok()) {
      ctx.Report(Reason::kFlbNoIommuEntry, r.handoff.luo.flb_header_pa,
                 "no entry named \"%s\" or \"%s\"", IOMMU_A_FLB_COMPATIBLE, IOMMU_B_FLB_COMPATIBLE);
    }
  }
  if (ctx.stop()) return finish();

  r.memory.ReportUnclaimed(path, r.diag);
  return finish();
}

absl::StatusOr<HandoffModel> DecodeHandoff(const ImageView& image, const Options& options) {
  Decoder decoder(options);
  const DecodeResult& r = decoder.Decode(image);
  if (!r.ok()) return r.diag.ToStatus();
  return r.handoff;
}

}  // namespace khoabi
