#include "lib/fuzz_corpus.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/corrupt.h"
#include "lib/elf_image.h"
#include "lib/iommu.h"
#include "lib/scenario.h"

namespace khoabi::fuzz {
namespace {

struct Shape {
  std::string label;
  Scenario scenario;
};

const char* AbiLabel(IommuAbi abi) { return abi == IommuAbi::kA ? "A" : "B"; }

const char* PolicyLabel(PasidPolicy p) {
  return p == PasidPolicy::kNoPasidOnly  ? "no-pasid"
         : p == PasidPolicy::kAllPresent ? "all-present"
                                         : "abi-default";
}

// Valid handoffs of every shape.
std::vector<Shape> Shapes() {
  std::vector<Shape> v;
  for (IommuAbi abi : {IommuAbi::kA, IommuAbi::kB}) {
    for (KhoVersion kho : {KhoVersion::kV1, KhoVersion::kV2}) {
      for (PasidPolicy policy :
           {PasidPolicy::kAbiDefault,
            abi == IommuAbi::kA ? PasidPolicy::kAllPresent : PasidPolicy::kNoPasidOnly}) {
        Scenario s;
        s.abi = abi;
        s.kho = kho;
        s.policy = policy;
        s.intel_units = 1;
        s.legacy_intel_units = 1;
        s.smmu_units = abi == IommuAbi::kB ? 1 : 0;
        s.domains_per_unit = 2;
        s.devices = 5;
        s.max_pasid = 1u << 16;
        if (EffectivePolicy(abi, policy) == PasidPolicy::kAllPresent) s.pasids = {1, 64, 1000};
        s.unpreserve = 1;
        s.opaque_flbs = 1;
        v.push_back(
            {absl::StrCat(AbiLabel(abi), "_", KhoVersionName(kho), "_", PolicyLabel(policy)), s});
      }
    }
  }
  auto add = [&v](std::string label, auto edit) {
    Scenario s;
    edit(s);
    v.push_back({std::move(label), s});
  };
  add("A_kho-v1_80devices", [](Scenario& s) {
    s.abi = IommuAbi::kA;
    s.kho = KhoVersion::kV1;
    s.intel_units = 1;
    s.legacy_intel_units = 1;
    s.devices = 80;  // two device pages (72 per page)
    s.max_pasid = 1u << 15;
  });
  add("B_kho-v2_80devices", [](Scenario& s) {
    s.intel_units = 2;
    s.smmu_units = 1;
    s.devices = 80;  // two device pages (56 per page)
    s.max_pasid = 1u << 15;
    s.unpreserve = 3;
  });
  add("B_kho-v2_full-directory", [](Scenario& s) {
    s.devices = 2;
    s.max_pasid = 1u << 20;  // order-5 directory: 16384 entries
    s.pasids = {1, 5000, 70000, 300000, (1u << 20) - 1};
  });
  add("A_kho-v2_full-directory", [](Scenario& s) {
    s.abi = IommuAbi::kA;
    s.devices = 1;
    s.max_pasid = 1u << 20;
  });
  add("B_kho-v1_scattered", [](Scenario& s) {
    s.kho = KhoVersion::kV1;
    s.devices = 3;
    s.pasids = {7};
    s.memory.seed = 12345;
    s.memory.max_gap_pages = 40;
  });
  add("B_kho-v2_high-memory", [](Scenario& s) {
    s.devices = 2;
    s.memory.base = 0xfffffff000000000ull;
  });
  add("A_kho-v1_5levels_4domains", [](Scenario& s) {
    s.abi = IommuAbi::kA;
    s.kho = KhoVersion::kV1;
    s.intel_units = 2;
    s.domains_per_unit = 4;
    s.levels = 5;
    s.devices = 8;
  });
  add("B_kho-v2_smmu-only", [](Scenario& s) {
    s.intel_units = 0;
    s.smmu_units = 2;
    s.devices = 4;
  });
  add("A_kho-v2_no-devices", [](Scenario& s) {
    s.abi = IommuAbi::kA;
    s.intel_units = 0;
    s.devices = 0;
  });
  add("B_kho-v1_no-iommu", [](Scenario& s) {
    s.kho = KhoVersion::kV1;
    s.iommu = false;
    s.opaque_flbs = 2;
  });
  return v;
}

// The small handoffs corruption seeds start from.
std::vector<Shape> CorruptionBases() {
  std::vector<Shape> v;
  for (IommuAbi abi : {IommuAbi::kA, IommuAbi::kB}) {
    Scenario s;
    s.abi = abi;
    s.kho = abi == IommuAbi::kA ? KhoVersion::kV1 : KhoVersion::kV2;
    s.intel_units = 2;
    s.legacy_intel_units = 1;
    s.smmu_units = abi == IommuAbi::kB ? 1 : 0;
    s.domains_per_unit = 2;
    s.devices = 6;
    s.max_pasid = 1u << 16;
    s.opaque_flbs = 1;
    s.unpreserve = 1;
    v.push_back({absl::StrCat(AbiLabel(abi), "_", KhoVersionName(s.kho)), s});
  }
  // Classes that need more than one page of devices.
  Scenario big = v.back().scenario;
  big.devices = 80;
  v.push_back({"B_kho-v2_80devices", big});
  return v;
}

// The smallest handoff, for classes that break the ELF file itself: their
// files cannot be compact, so every page counts.
Scenario TinyHandoff() {
  Scenario s;
  s.kho = KhoVersion::kV1;
  s.intel_units = 0;
  s.smmu_units = 1;
  s.devices = 1;
  return s;
}

std::string WithOptions(std::string elf, const OptionBytes& o) {
  for (size_t i = 0; i < kOptionBytes && kElfOptionOffset + i < elf.size(); ++i) {
    elf[kElfOptionOffset + i] = static_cast<char>(o[i]);
  }
  return elf;
}

OptionBytes PolicyOptions(PasidPolicy p) {
  OptionBytes o{};
  if (p == PasidPolicy::kNoPasidOnly) o[0] = 1 << 2;
  if (p == PasidPolicy::kAllPresent) o[0] = 2 << 2;
  return o;
}

// Option bytes that tighten each limit to where a small handoff reaches it,
// and the flags.
std::vector<std::pair<std::string, OptionBytes>> OptionVariants() {
  std::vector<std::pair<std::string, OptionBytes>> v = {
      {"limit_image_size", {0, 1, 4, 0}},
      {"limit_folios", {0, 2, 3, 0}},
      {"limit_tracker_pages", {0, 3, 1, 0}},
      {"limit_fdt_depth", {0, 4, 1, 0}},
      {"limit_chain_length", {0, 5, 0, 0}},
      {"limit_objects", {0, 6, 0, 0}},
      {"limit_devices", {0, 7, 0, 0}},
      {"limit_pasid_tables", {0, 8, 0, 0}},
      {"limit_work", {0, 9, 8, 0}},
      {"lenient", {0x01, 0, 0, 0}},
      {"stop_at_first_error", {0x02, 0, 0, 0}},
      {"policy_no-pasid", {0x04, 0, 0, 0}},
      {"policy_all-present", {0x08, 0, 0, 0}},
      {"reject_abi_a", {0x10, 0, 0, 0}},
      {"reject_abi_b", {0x20, 0, 0, 0}},
      {"iommu_optional", {0x40, 0, 0, 0}},
      {"max_problems_1", {0x80, 0, 0, 0}},
  };
  return v;
}

std::vector<Seed> ElfSeeds(Target target) {
  std::vector<Seed> out;
  const std::vector<Shape> shapes = Shapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape& shape = shapes[i];
    absl::StatusOr<HandoffModel> m = BuildScenario(shape.scenario);
    if (!m.ok())
      OracleFailure("make_corpus", absl::StrCat(shape.label, ": ", m.status().ToString()));
    absl::StatusOr<Image> image = EncodeHandoff(*m);
    if (!image.ok()) OracleFailure("make_corpus", image.status().ToString());
    OptionBytes o = PolicyOptions(shape.scenario.policy);
    if (!shape.scenario.iommu) o[0] |= 0x40;
    out.push_back({shape.label, WithOptions(WriteCompactElfImage(*image), o), true});
    // Two small shapes also at full size: the reader's zero-copy path.
    if (i == 0 || i == 7) {
      out.push_back({shape.label + "_full", WithOptions(WriteElfImage(*image), o), true});
    }
    if (i == 0) {
      for (const auto& [label, bytes] : OptionVariants()) {
        out.push_back({absl::StrCat(shape.label, "_", label),
                       WithOptions(WriteCompactElfImage(*image), bytes)});
      }
    }
  }
  // Corruption classes (the ELF reader's target takes those of its layer).
  std::vector<std::pair<std::string, HandoffModel>> bases;
  for (const Shape& shape : CorruptionBases()) {
    absl::StatusOr<HandoffModel> m = BuildScenario(shape.scenario);
    if (!m.ok()) OracleFailure("make_corpus", m.status().ToString());
    bases.push_back({shape.label, *std::move(m)});
  }
  absl::StatusOr<HandoffModel> tiny = BuildScenario(TinyHandoff());
  if (!tiny.ok()) OracleFailure("make_corpus", tiny.status().ToString());
  for (const CorruptionClass& c : CorruptionClasses()) {
    const bool elf_layer = std::string(c.layer) == "elf";
    if (target == Target::kElfReader && !elf_layer) continue;
    if (elf_layer) {
      absl::StatusOr<std::string> file =
          ApplyCorruption(c, *tiny, [](const Image& i) { return WriteCompactElfImage(i); });
      if (!file.ok()) OracleFailure("make_corpus", file.status().ToString());
      out.push_back({absl::StrCat("corrupt_", c.name, "_tiny"), *file});
      continue;
    }
    // One base per class, ABI A and B in turn; the large one only for
    // classes the small ones cannot show.
    const size_t first = static_cast<size_t>(&c - CorruptionClasses().data()) % 2;
    for (size_t b : {first, 1 - first, bases.size() - 1}) {
      absl::StatusOr<std::string> file = ApplyCorruption(
          c, bases[b].second, [](const Image& i) { return WriteCompactElfImage(i); });
      if (!file.ok()) continue;
      out.push_back({absl::StrCat("corrupt_", c.name, "_", bases[b].first),
                     WithOptions(*file, PolicyOptions(c.policy))});
      break;
    }
  }
  return out;
}

// Pages of `view` outside `layer` hold the same bytes as the base's: the
// corruption stays within the layer.
bool OnlyLayerChanged(const LayerBase& base, Layer layer, const ImageView& view) {
  const std::vector<uint64_t>& pages = base.pages[static_cast<size_t>(layer)];
  ImageReader reader(view);
  for (const Image::Segment& s : base.image.segments()) {
    for (uint64_t at = 0; at < s.bytes.size(); at += kPageSize) {
      const uint64_t pa = s.pa + at;
      if (std::find(pages.begin(), pages.end(), pa) != pages.end()) continue;
      absl::Span<const uint8_t> now = reader.Bytes(pa, kPageSize);
      if (now.empty() || !std::equal(now.begin(), now.end(), s.bytes.begin() + at)) return false;
    }
  }
  return true;
}

std::vector<Seed> LayerSeeds(Layer layer) {
  std::vector<Seed> out;
  const std::vector<LayerBase>& bases = LayerBases();
  for (size_t b = 0; b < bases.size(); ++b) {
    const LayerBase& base = bases[b];
    out.push_back({base.name, EncodeLayerInput(layer, b, OptionBytes{}, base.image.View()), true});
    {  // every base: a tight limit hits each layer's format differently
      for (const auto& [label, bytes] : OptionVariants()) {
        out.push_back({absl::StrCat(base.name, "_", label),
                       EncodeLayerInput(layer, b, bytes, base.image.View())});
      }
    }
    for (const CorruptionClass& c : CorruptionClasses()) {
      absl::StatusOr<std::string> file = ApplyCorruption(c, base.model);
      if (!file.ok()) continue;
      Diagnostics diag{Options{}};
      LoadedImage loaded = ReadElfImage(
          absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(file->data()), file->size()),
          Options{}, {}, &diag);
      if (!diag.ok() || loaded.view.root_pa != base.image.root_pa ||
          !OnlyLayerChanged(base, layer, loaded.view)) {
        continue;
      }
      out.push_back({absl::StrCat("corrupt_", c.name, "_", base.name),
                     EncodeLayerInput(layer, b, PolicyOptions(c.policy), loaded.view)});
    }
  }
  return out;
}

std::vector<Seed> RoundTripSeeds() {
  std::vector<Seed> out;
  out.push_back({"empty", "", true});
  for (int i = 0; i < 48; ++i) {
    std::mt19937_64 rng(static_cast<uint64_t>(i) + 1);
    std::string bytes(16u << (i % 8), '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    out.push_back({absl::StrFormat("random_%d", i), bytes, true});
  }
  return out;
}

}  // namespace

std::vector<Seed> SeedsFor(Target target) {
  switch (target) {
    case Target::kHandoff:
    case Target::kElfReader:
      return ElfSeeds(target);
    case Target::kRoundTrip:
      return RoundTripSeeds();
    default:
      return LayerSeeds(*LayerOf(target));
  }
}

}  // namespace khoabi::fuzz
