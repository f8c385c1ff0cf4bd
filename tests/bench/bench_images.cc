#include "tests/bench/bench_images.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>
#include <utility>

#include "abi/vtd_pasid.h"
#include "absl/strings/str_format.h"

namespace khoabi::bench {
namespace {

[[noreturn]] void Die(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::abort();
}

Image EncodeOrDie(const HandoffModel& model, const std::string& what) {
  absl::StatusOr<Image> image = EncodeHandoff(model);
  if (!image.ok()) Die(what, image.status());
  return *std::move(image);
}

// A valid present entry of PGTT 1-4, chosen by `r` (any 64-bit value).
pasid_entry MixedEntry(uint64_t r, uint16_t did) {
  pasid_entry e;
  std::memset(&e, 0, sizeof e);
  const uint64_t pgtt = 1 + (r & 3);
  const uint64_t ptr1 = ((r >> 8) | 1) << 12 & ((1ull << 52) - 1);
  const uint64_t ptr2 = ((r >> 20) | 1) << 12 & ((1ull << 52) - 1);
  e.val[0] = VTD_PE0_PRESENT | (pgtt << VTD_PE0_PGTT_SHIFT);
  if (pgtt == VTD_PGTT_SL_ONLY || pgtt == VTD_PGTT_NESTED) {
    e.val[0] |= ptr1 | ((1 + (r >> 2) % 3) << VTD_PE0_AW_SHIFT);
  }
  if (pgtt == VTD_PGTT_FL_ONLY || pgtt == VTD_PGTT_NESTED) {
    e.val[2] = ptr2 | (((r >> 4) & 1) << VTD_PE2_FLPM_SHIFT);
  }
  e.val[1] = did | VTD_PE1_PWSNP;
  return e;
}

std::unique_ptr<FullDirectory> MakeFullDirectory(EntryMix mix) {
  Scenario s;
  s.name = "full PASID directory";
  s.abi = IommuAbi::kB;  // all-present policy
  s.devices = 1;
  s.max_pasid = VTD_PASID_MAX;
  for (uint32_t p = 1; p < VTD_PASID_MAX; ++p) s.pasids.push_back(p);
  absl::StatusOr<HandoffModel> model = BuildScenario(s);
  if (!model.ok()) Die("full directory scenario", model.status());
  auto out = std::make_unique<FullDirectory>();
  out->model = *std::move(model);
  out->image = EncodeOrDie(out->model, "full directory image");
  const IommuModel& iommu = *out->model.iommu;
  const IommuDevice& device = iommu.devices.at(0);
  out->dir_pa = device.pasid_table(iommu.abi);
  out->max_pasid = device.max_pasid(iommu.abi);
  out->dir_bytes = vtd_pasid_dir_entries(out->max_pasid) * 8;
  out->dir = out->image.Mutable(out->dir_pa, out->dir_bytes).data();
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (const PasidTable& t : device.pasid.tables) {
    uint8_t* page = out->image.Mutable(t.pa(), kPageSize).data();
    if (page == nullptr) Die("full directory image", absl::InternalError("table not in image"));
    out->tables.push_back(page);
    if (mix != EntryMix::kMixed) continue;
    for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) {
      if (t.dir_index == 0 && i == 0) continue;  // PASID 0 must match its domain
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      pasid_entry old;
      std::memcpy(&old, page + i * sizeof old, sizeof old);
      const pasid_entry e = MixedEntry(state, static_cast<uint16_t>(vtd_pe_did(&old)));
      std::memcpy(page + i * sizeof e, &e, sizeof e);
    }
  }
  if (out->tables.size() != VTD_PASID_MAX / VTD_PASID_TBL_ENTRIES) {
    Die("full directory image", absl::InternalError("not 16384 tables"));
  }
  return out;
}

}  // namespace

const FullDirectory& GetFullDirectory(EntryMix mix) {
  static std::unique_ptr<FullDirectory> cache[2];
  std::unique_ptr<FullDirectory>& slot = cache[mix == EntryMix::kMixed ? 1 : 0];
  if (slot == nullptr) slot = MakeFullDirectory(mix);
  return *slot;
}

Scenario RealisticScenario(IommuAbi abi, KhoVersion kho, int devices) {
  Scenario s;
  s.name = ShapeName(abi, kho, devices);
  s.abi = abi;
  s.kho = kho;
  s.intel_units = 4;
  s.legacy_intel_units = 1;
  s.domains_per_unit = 2;
  s.devices = devices;
  s.max_pasid = 1u << 16;
  if (abi == IommuAbi::kB) s.pasids = {1, 7, 4096};
  s.opaque_flbs = 2;
  s.unpreserve = devices > 2 ? 2 : 0;
  s.memory.seed = 42;
  s.memory.max_gap_pages = 8;
  return s;
}

const Encoded& GetRealistic(IommuAbi abi, KhoVersion kho, int devices) {
  static auto* cache = new std::map<std::tuple<IommuAbi, KhoVersion, int>, Encoded>();
  auto key = std::make_tuple(abi, kho, devices);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  absl::StatusOr<HandoffModel> model = BuildScenario(RealisticScenario(abi, kho, devices));
  const std::string name = ShapeName(abi, kho, devices);
  if (!model.ok()) Die(name, model.status());
  Encoded e;
  e.model = *std::move(model);
  e.image = EncodeOrDie(e.model, name);
  return cache->emplace(key, std::move(e)).first->second;
}

std::string ShapeName(IommuAbi abi, KhoVersion kho, int devices) {
  return absl::StrFormat("%s_%s_%d", abi == IommuAbi::kA ? "A" : "B",
                         kho == KhoVersion::kV1 ? "kho-v1" : "kho-v2", devices);
}

}  // namespace khoabi::bench
