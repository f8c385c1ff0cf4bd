#include "lib/fuzz_round_trip.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>

#include "abi/iommu.h"
#include "abi/vtd_pasid.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "lib/fuzz_support.h"
#include "lib/iommu.h"
#include "lib/model_text.h"
#include "lib/oracle.h"
#include "lib/scenario.h"

namespace khoabi::fuzz {
namespace {

Scenario ScenarioFrom(FuzzedDataProvider& p) {
  Scenario s;
  s.abi = p.ConsumeBool() ? IommuAbi::kA : IommuAbi::kB;
  s.kho = p.ConsumeBool() ? KhoVersion::kV1 : KhoVersion::kV2;
  s.policy = p.PickValueInArray(
      {PasidPolicy::kAbiDefault, PasidPolicy::kNoPasidOnly, PasidPolicy::kAllPresent});
  s.liveupdate_number = p.ConsumeIntegral<uint64_t>();
  switch (p.ConsumeIntegralInRange(0, 3)) {
    case 1:  // anywhere below 2^48
      s.memory.base = p.ConsumeIntegralInRange<uint64_t>(1, (1ull << 36) - 1) << 12;
      break;
    case 2:  // near the top of the address space: the handoff must still fit
      s.memory.base = (1ull << 63) + (p.ConsumeIntegralInRange<uint64_t>(0, 1ull << 20) << 12);
      break;
    case 3:  // scattered
      s.memory.seed = p.ConsumeIntegralInRange<uint64_t>(1, 1u << 30);
      s.memory.max_gap_pages = p.ConsumeIntegralInRange<uint32_t>(1, 64);
      break;
    default:
      break;
  }
  s.intel_units = p.ConsumeIntegralInRange(0, 3);
  s.legacy_intel_units = p.ConsumeIntegralInRange(0, 2);
  s.smmu_units = s.abi == IommuAbi::kB ? p.ConsumeIntegralInRange(0, 2) : 0;
  s.domains_per_unit = p.ConsumeIntegralInRange(1, 3);
  s.levels = p.ConsumeIntegralInRange(3, 5);
  const int units = s.intel_units + s.legacy_intel_units + s.smmu_units;
  s.devices = units == 0 ? 0 : p.ConsumeIntegralInRange(0, 80);  // > one page of devices
  switch (p.ConsumeIntegralInRange(0, 4)) {
    case 0:
      s.max_pasid = 0;
      break;
    case 1:
      s.max_pasid = 1u << p.ConsumeIntegralInRange(15, 20);
      break;
    default:
      s.max_pasid = p.ConsumeIntegralInRange<uint32_t>(1, VTD_PASID_MAX);
  }
  if (s.max_pasid != 0) {
    // Attach only PASIDs the devices support (AddDevice rounds max_pasid up).
    const uint32_t stored =
        static_cast<uint32_t>(vtd_pasid_stored_max(vtd_pasid_dir_order(s.max_pasid)));
    const int n = p.ConsumeIntegralInRange(0, 4);
    std::set<uint32_t> pasids;
    for (int i = 0; i < n; ++i) pasids.insert(p.ConsumeIntegralInRange<uint32_t>(1, stored - 1));
    s.pasids.assign(pasids.begin(), pasids.end());
  }
  // Big directories on few devices: an image stays within a few MiB.
  if (s.max_pasid > (1u << 16)) s.devices = std::min(s.devices, 4);
  s.unpreserve = s.devices == 0 ? 0 : p.ConsumeIntegralInRange(0, std::min(s.devices, 3));
  s.opaque_flbs = p.ConsumeIntegralInRange(0, 3);
  s.iommu = p.ConsumeIntegralInRange(0, 15) != 0;
  return s;
}

// A present PASID entry the decoder must accept: reserved bits and qwords
// 3-7 clear, a valid PGTT and the fields it needs.
pasid_entry ValidEntry(FuzzedDataProvider& p) {
  pasid_entry e;
  std::memset(&e, 0, sizeof e);
  e.val[0] =
      p.ConsumeIntegral<uint64_t>() & ~(VTD_PE0_RESERVED | VTD_PE0_PGTT_MASK | VTD_PE0_AW_MASK);
  e.val[1] = p.ConsumeIntegral<uint64_t>() & ~VTD_PE1_RESERVED;
  e.val[2] = p.ConsumeIntegral<uint64_t>() & ~(VTD_PE2_RESERVED | VTD_PE2_FLPM_MASK);
  const uint64_t pgtt = p.ConsumeIntegralInRange<uint64_t>(VTD_PGTT_FL_ONLY, VTD_PGTT_PT);
  e.val[0] |= VTD_PE0_PRESENT | (pgtt << VTD_PE0_PGTT_SHIFT) |
              (p.ConsumeIntegralInRange<uint64_t>(1, 3) << VTD_PE0_AW_SHIFT);
  e.val[2] |= p.ConsumeIntegralInRange<uint64_t>(0, 1) << VTD_PE2_FLPM_SHIFT;
  if ((e.val[0] & VTD_PE0_SLPTPTR_MASK) == 0) e.val[0] |= 0x1000;
  if ((e.val[2] & VTD_PE2_FLPTPTR_MASK) == 0) e.val[2] |= 0x1000;
  return e;
}

// A non-present entry with leftovers: a warning, never an error.
pasid_entry StaleEntry(FuzzedDataProvider& p) {
  pasid_entry e;
  for (uint64_t& q : e.val) q = p.ConsumeBool() ? p.ConsumeIntegral<uint64_t>() : 0;
  e.val[0] &= ~VTD_PE0_PRESENT;
  return e;
}

void EditIommu(FuzzedDataProvider& p, PasidPolicy policy, HandoffModel& m) {
  IommuModel& io = *m.iommu;
  if (p.ConsumeBool()) {
    const uint64_t count = p.ConsumeIntegral<uint64_t>();
    io.flb_count = count;
    for (FlbEntry& e : m.luo.flbs) {
      if (e.data == io.flb_ser_pa) e.count = count;
    }
  }
  for (IommuUnit& u : io.units) {
    if (!p.ConsumeBool()) continue;
    u.hdr.ref_count = p.ConsumeIntegral<uint32_t>();  // ref_count_mismatch: a warning
    if (u.type == IOMMU_SER_TYPE_INTEL) {
      iommu_intel_ser intel = u.intel();
      if (p.ConsumeBool()) intel.phys_addr = p.ConsumeIntegral<uint64_t>();  // warnings only
      for (uint64_t& w : intel.context_tables_bitmap) {
        if (p.ConsumeBool()) w = p.ConsumeIntegral<uint64_t>();
      }
      u.set_intel(intel);
    }
  }
  for (IommuDomain& d : io.domains) {
    if (!p.ConsumeBool()) continue;
    d.hdr.ref_count = p.ConsumeIntegral<uint32_t>();
    d.top_level = p.ConsumeIntegral<uint64_t>();
    d.vasz = p.ConsumeIntegral<uint32_t>();
    d.sign_extend = p.ConsumeBool() ? 1 : 0;
  }
  const PasidPolicy effective = EffectivePolicy(io.abi, policy);
  for (IommuDevice& d : io.devices) {
    if (!p.ConsumeBool()) continue;
    if (io.abi == IommuAbi::kB) d.dma_owner_token = p.ConsumeIntegral<uint64_t>();
    if (d.hdr.deleted()) continue;
    d.hdr.ref_count = p.ConsumeIntegral<uint32_t>();
    d.attachment_id = p.ConsumeIntegral<uint64_t>();  // id_too_wide, pasid0_did_mismatch: warnings
    if (io.units[static_cast<size_t>(d.unit)].type == IOMMU_SER_TYPE_ARM_SMMUV3) {
      iommu_master_smmuv3_ser smmu = d.smmuv3();
      smmu.l1_cdtab_lu_state = p.ConsumeIntegral<uint64_t>();
      smmu.num_l2_cdtables = p.ConsumeIntegral<uint32_t>();
      smmu.l2_cdtab_lu_states_phys = p.ConsumeIntegral<uint64_t>();
      d.set_smmuv3(smmu);
    }
    const uint32_t dir_entries = static_cast<uint32_t>(vtd_pasid_dir_entries(d.max_pasid(io.abi)));
    for (PasidTable& t : d.pasid.tables) {
      const int edits = p.ConsumeIntegralInRange(0, 3);
      for (int i = 0; i < edits; ++i) {
        const uint32_t index = p.ConsumeIntegralInRange<uint32_t>(0, VTD_PASID_TBL_ENTRIES - 1);
        const bool pasid0 = t.dir_index == 0 && index == 0;
        if (effective == PasidPolicy::kNoPasidOnly && !pasid0) {
          t.entries.Set(index, StaleEntry(p));
        } else if (pasid0 && effective == PasidPolicy::kNoPasidOnly) {
          t.entries.Set(index, ValidEntry(p));
        } else {
          t.entries.Set(index, p.ConsumeBool() ? ValidEntry(p) : StaleEntry(p));
        }
      }
    }
    // Stale directory entries where no table is: not present, no bits 11:2.
    const bool has_dir = io.units[static_cast<size_t>(d.unit)].type == IOMMU_SER_TYPE_INTEL &&
                         d.pasid_table(io.abi) != 0;
    const int stale = !has_dir || dir_entries == 0 ? 0 : p.ConsumeIntegralInRange(0, 2);
    for (int i = 0; i < stale; ++i) {
      const uint32_t index = p.ConsumeIntegralInRange<uint32_t>(0, dir_entries - 1);
      if (d.pasid.TableFor(index) != nullptr) continue;
      uint64_t v = p.ConsumeIntegral<uint64_t>() & ~(VTD_PDE_RESERVED | VTD_PDE_PRESENT);
      if (v == 0) v = VTD_PDE_FPD;
      auto& entries = d.pasid.stale_dir_entries;
      auto it =
          std::lower_bound(entries.begin(), entries.end(), std::make_pair(index, uint64_t{0}));
      if (it != entries.end() && it->first == index) {
        it->second = v;
      } else {
        entries.insert(it, {index, v});
      }
    }
  }
}

void EditModel(FuzzedDataProvider& p, PasidPolicy policy, HandoffModel& m) {
  // FLB names other than the IOMMU's: any bytes after the NUL, kept as is.
  std::set<std::string> names;
  for (const FlbEntry& e : m.luo.flbs) names.insert(std::string(e.name()));
  for (FlbEntry& e : m.luo.flbs) {
    if (m.iommu.has_value() && e.data == m.iommu->flb_ser_pa) continue;
    if (!p.ConsumeBool()) continue;
    const std::string name = p.ConsumeRandomLengthString(47);
    if (name.empty() || name.find('\0') != std::string::npos || name.compare(0, 5, "iommu") == 0 ||
        names.count(name) != 0) {
      continue;
    }
    names.erase(std::string(e.name()));
    names.insert(name);
    FlbEntry edited = FlbEntry::Make(name, e.data, p.ConsumeIntegral<uint64_t>());
    for (size_t i = name.size() + 1; i < edited.name_bytes.size(); ++i) {
      edited.name_bytes[i] = static_cast<char>(p.ConsumeIntegral<uint8_t>());
    }
    e = edited;
  }
  // Opaque tables restored as blobs: any bytes.
  for (BlobFolio& b : m.blobs) {
    if (!p.ConsumeBool()) continue;
    const std::string bytes = p.ConsumeRandomLengthString(64);
    std::copy(bytes.begin(), bytes.end(), b.bytes.begin());
  }
  if (m.iommu.has_value()) EditIommu(p, policy, m);
}

std::string Mismatch(const char* what, const HandoffModel& want, const HandoffModel& got) {
  return absl::StrCat(what, "\n--- built:\n", ModelToText(want).substr(0, 4000), "\n--- decoded:\n",
                      ModelToText(got).substr(0, 4000));
}

bool SameImage(const ImageView& a, const ImageView& b) {
  if (a.root_pa != b.root_pa || a.segments.size() != b.segments.size()) return false;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    const SegmentView &x = a.segments[i], &y = b.segments[i];
    if (x.pa != y.pa ||
        !std::equal(x.bytes.begin(), x.bytes.end(), y.bytes.begin(), y.bytes.end())) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<GeneratedModel> ModelFromInput(absl::Span<const uint8_t> input) {
  FuzzedDataProvider p(input.data(), input.size());
  const Scenario s = ScenarioFrom(p);
  absl::StatusOr<HandoffModel> built = BuildScenario(s);
  if (!built.ok()) {
    if (absl::IsInternal(built.status())) OracleFailure("round_trip", built.status().ToString());
    return std::nullopt;  // the preserving kernel refused, or memory ran out
  }
  GeneratedModel g{*std::move(built), Options{}};
  g.options.pasid_policy = s.policy;
  g.options.require_iommu = s.iommu;
  EditModel(p, s.policy, g.model);
  return g;
}

std::string RunRoundTrip(absl::Span<const uint8_t> input) {
  std::optional<GeneratedModel> g = ModelFromInput(input);
  if (!g.has_value()) return "";
  const HandoffModel& m = g->model;
  absl::StatusOr<Image> image = EncodeHandoff(m);
  if (!image.ok())
    return absl::StrCat("a valid model does not encode: ", image.status().ToString());
  const ImageView view = image->View();

  Decoder decoder(g->options);
  const DecodeResult& r = decoder.Decode(view);
  if (std::string broken = CheckDecode(view, r, g->options); !broken.empty()) return broken;
  if (!r.ok()) {
    return absl::StrCat("a valid model is rejected: ", r.diag.first_error()->ToString(), "\n",
                        ModelToText(m).substr(0, 4000));
  }
  if (!(r.handoff == m)) return Mismatch("decode(encode(m)) != m", m, r.handoff);

  absl::StatusOr<Image> again = EncodeHandoff(r.handoff);
  if (!again.ok())
    return absl::StrCat("the decoded model does not encode: ", again.status().ToString());
  if (!SameImage(view, again->View())) return "encoding the decoded model changes the image";

  // Through an ELF file and back, in one layout or the other (by the input's
  // length: both would double the cost of every run).
  {
    const bool compact = input.size() % 2 == 0;
    const std::string file = compact ? WriteCompactElfImage(*image) : WriteElfImage(*image);
    Diagnostics diag(g->options);
    LoadedImage loaded = ReadElfImage(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(file.data()), file.size()), g->options,
        {}, &diag);
    if (!diag.ok())
      return absl::StrCat("the ELF file of a valid image is rejected: ",
                          diag.first_error()->ToString());
    if (!SameImage(view, loaded.view)) return "an image changes through an ELF file";
  }
  return "";
}

}  // namespace khoabi::fuzz
