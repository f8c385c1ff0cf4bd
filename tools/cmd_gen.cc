// khoabi gen: build a handoff image from a scenario.
#include <ostream>

#include "absl/strings/str_format.h"
#include "lib/elf_image.h"
#include "lib/scenario.h"
#include "tools/commands.h"
#include "tools/image_file.h"

namespace khoabi::cli {
namespace {

struct IntFlag {
  const char* name;
  int* field;
  int lo, hi;
};

int RunGen(const Command& cmd, const Args& args, Io& io) {
  Scenario s;
  if (args.Has("scenario")) {
    absl::StatusOr<std::string> text = ReadSmallFile(args.Get("scenario"));
    if (!text.ok()) {
      io.err << "khoabi gen: " << text.status().message() << "\n";
      return kExitUsage;
    }
    absl::StatusOr<Scenario> parsed = ScenarioFromJson(*text);
    if (!parsed.ok()) {
      io.err << "khoabi gen: " << args.Get("scenario") << ": " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    s = *parsed;
  }
  if (args.Has("abi")) {
    const std::string a = args.Get("abi");
    if (a != "A" && a != "B") return UsageError(io, cmd, "--abi must be A or B");
    s.abi = a == "A" ? IommuAbi::kA : IommuAbi::kB;
  }
  if (args.Has("kho")) {
    const std::string k = args.Get("kho");
    if (k != "v1" && k != "v2" && k != "kho-v1" && k != "kho-v2") {
      return UsageError(io, cmd, "--kho must be v1 or v2");
    }
    s.kho = (k == "v1" || k == "kho-v1") ? KhoVersion::kV1 : KhoVersion::kV2;
  }
  if (args.Has("policy")) {
    std::optional<PasidPolicy> p = ParsePolicy(args.Get("policy"));
    if (!p.has_value())
      return UsageError(io, cmd, "--policy must be no-pasid, all-present or abi-default");
    s.policy = *p;
  }
  const IntFlag ints[] = {{"intel-units", &s.intel_units, 0, 64},
                          {"legacy-units", &s.legacy_intel_units, 0, 64},
                          {"smmu-units", &s.smmu_units, 0, 64},
                          {"domains-per-unit", &s.domains_per_unit, 1, 4096},
                          {"levels", &s.levels, 3, 5},
                          {"devices", &s.devices, 0, 65536},
                          {"unpreserve", &s.unpreserve, 0, 65536},
                          {"opaque-flbs", &s.opaque_flbs, 0, 60}};
  for (const IntFlag& f : ints) {
    if (!args.Has(f.name)) continue;
    std::optional<uint64_t> v = ParseU64(args.Get(f.name));
    if (!v.has_value() || *v < static_cast<uint64_t>(f.lo) || *v > static_cast<uint64_t>(f.hi)) {
      return UsageError(io, cmd,
                        absl::StrFormat("--%s must be a number from %d to %d", f.name, f.lo, f.hi));
    }
    *f.field = static_cast<int>(*v);
  }
  if (args.Has("max-pasid")) {
    std::optional<uint64_t> v = ParseU64(args.Get("max-pasid"));
    if (!v.has_value() || *v > (1u << 20))
      return UsageError(io, cmd, "--max-pasid must be 0 to 1048576");
    s.max_pasid = static_cast<uint32_t>(*v);
  }
  for (const std::string& p : args.GetAll("pasid")) {
    std::optional<uint64_t> v = ParseU64(p);
    if (!v.has_value() || *v == 0 || *v >= (1u << 20)) {
      return UsageError(io, cmd,
                        "--pasid must be a PASID from 1 to 1048575 (0 is always attached)");
    }
    s.pasids.push_back(static_cast<uint32_t>(*v));
  }
  for (const char* name : {"seed", "base", "max-gap-pages", "liveupdate-number"}) {
    if (!args.Has(name)) continue;
    std::optional<uint64_t> v = ParseU64(args.Get(name));
    if (!v.has_value()) return UsageError(io, cmd, absl::StrFormat("--%s must be a number", name));
    if (std::string(name) == "seed") s.memory.seed = *v;
    if (std::string(name) == "base") s.memory.base = *v;
    if (std::string(name) == "max-gap-pages") s.memory.max_gap_pages = static_cast<uint32_t>(*v);
    if (std::string(name) == "liveupdate-number") s.liveupdate_number = *v;
  }
  if (args.Has("no-iommu")) s.iommu = false;
  if (args.Has("print-scenario")) {
    io.out << ScenarioToJson(s);
    return kExitOk;
  }
  if (!args.Has("output"))
    return UsageError(io, cmd, "say where to write the image: -o/--output FILE");

  Progress progress(io, "gen");
  absl::StatusOr<HandoffModel> m = BuildScenario(s);
  progress.Phase("preserved the kernel's state; encoding");
  if (!m.ok()) {
    if (absl::IsFailedPrecondition(m.status())) {
      io.err << "khoabi gen: the preserving kernel refused: " << m.status().message() << "\n";
      return kExitFindings;
    }
    io.err << "khoabi gen: " << m.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<Image> image = EncodeHandoff(*m);
  if (!image.ok()) {
    io.err << "khoabi gen: " << image.status().message() << "\n";
    return kExitUsage;
  }
  progress.Phase("encoded; writing the ELF file");
  const std::string file = WriteElfImage(*image);
  if (absl::Status st = WriteFile(args.Get("output"), file); !st.ok()) {
    io.err << "khoabi gen: " << st.message() << "\n";
    return kExitUsage;
  }
  progress.Done();
  size_t live = 0;
  if (m->iommu.has_value()) {
    for (const IommuDevice& d : m->iommu->devices) live += !d.hdr.deleted();
  }
  io.out << absl::StrFormat(
      "wrote %s: %s, IOMMU %s, %d unit%s, %u device%s preserved, %u preserved folios, %u KiB\n",
      args.Get("output"), KhoVersionName(s.kho),
      s.iommu ? absl::StrFormat("ABI %s", IommuAbiName(s.abi)) : std::string("none"),
      s.intel_units + s.legacy_intel_units + s.smmu_units,
      s.intel_units + s.legacy_intel_units + s.smmu_units == 1 ? "" : "s", live,
      live == 1 ? "" : "s", m->kho.tracker.folios.size(), file.size() / 1024);
  return kExitOk;
}

}  // namespace

Command GenCommand() {
  Command c;
  c.name = "gen";
  c.synopsis = "gen [--scenario=FILE] [options] -o FILE";
  c.summary = "build a handoff image from a scenario, as a preserving kernel would";
  c.description =
      "Plays the preserving kernel: sets up IOMMU units, domains and devices (with PASIDs\n"
      "attached), preserves every device under the PASID policy, and writes the handoff\n"
      "as an ELF core file. Start from a JSON scenario (tools/scenarios/*.json, schema in\n"
      "tools/scenarios/README.md) and/or flags; flags override the file.\n"
      "Under the NO_PASID-only policy (ABI A's default) a device with PASIDs other than 0\n"
      "attached is refused, as the review of the series requires: exit status 1.";
  c.options = {
      {"output", "FILE", "where to write the image", "", false, 'o'},
      {"scenario", "FILE", "a JSON scenario to start from", ""},
      {"abi", "A|B", "IOMMU ABI: A \"iommu-liveupdate-v1\", B \"iommu-liveupdate\" v1", "B"},
      {"kho", "v1|v2", "KHO version: v1 bitmap chunks, v2 radix tree", "v2"},
      {"policy", "POLICY", "PASID policy: no-pasid, all-present, abi-default", "abi-default"},
      {"intel-units", "N", "scalable-mode VT-d units", "1"},
      {"legacy-units", "N", "VT-d units without scalable mode", "0"},
      {"smmu-units", "N", "Arm SMMUv3 units (ABI B)", "0"},
      {"domains-per-unit", "N", "paging domains per unit", "1"},
      {"levels", "N", "page-table levels per domain (3-5)", "4"},
      {"devices", "N", "PCI devices, spread over the units", "1"},
      {"max-pasid", "N", "PASIDs each device supports (rounded as Linux does)", "65536"},
      {"pasid", "P", "attach PASID P on every scalable-mode device", "", true},
      {"unpreserve", "N", "unpreserve the first N devices again (records flagged DELETED)", "0"},
      {"opaque-flbs", "N", "extra non-IOMMU FLB entries", "0"},
      {"no-iommu", "", "no IOMMU FLB at all", ""},
      {"seed", "N", "memory placement seed (0: dense)", "0"},
      {"max-gap-pages", "N", "with a seed: up to N free pages before each allocation", "0"},
      {"base", "PA", "lowest physical address used", "0x100000000"},
      {"liveupdate-number", "N", "LUO's liveupdate-number", "1"},
      {"print-scenario", "", "print the resulting scenario as JSON and exit", ""},
  };
  c.examples =
      "  khoabi gen -o handoff.elf\n"
      "  khoabi gen --scenario=tools/scenarios/server_vtd_b.json -o server.elf\n"
      "  khoabi gen --abi=A --devices=8 --kho=v1 -o abi_a.elf\n"
      "  khoabi gen --abi=B --pasid=5 --pasid=200 --max-pasid=1048576 -o pasids.elf\n"
      "  khoabi gen --abi=A --pasid=5 -o refused.elf      # refused: exit status 1\n";
  c.max_positional = 0;
  c.run = [c](const Args& a, Io& io) { return RunGen(c, a, io); };
  return c;
}

}  // namespace khoabi::cli
