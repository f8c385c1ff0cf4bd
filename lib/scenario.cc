#include "lib/scenario.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/handoff_builder.h"
#include "lib/iommu_preserver.h"
#include "nlohmann/json.hpp"

namespace khoabi {

absl::StatusOr<HandoffModel> BuildScenario(const Scenario& s) {
  if (s.smmu_units > 0 && s.abi != IommuAbi::kB) {
    return absl::InvalidArgumentError("SMMUv3 units exist in ABI B only");
  }
  if (s.levels < 3 || s.levels > 5 || s.domains_per_unit < 1) {
    return absl::InvalidArgumentError("levels must be 3-5 and domains_per_unit at least 1");
  }
  const int units = s.intel_units + s.legacy_intel_units + s.smmu_units;
  if (s.iommu && s.devices > 0 && units == 0) {
    return absl::InvalidArgumentError("devices need at least one IOMMU unit");
  }
  if (s.unpreserve > s.devices) return absl::InvalidArgumentError("unpreserve > devices");
  HandoffBuilder::Config config;
  config.kho_version = s.kho;
  config.memory = s.memory;
  config.liveupdate_number = s.liveupdate_number;
  HandoffBuilder b(config);
  for (int i = 0; i < s.opaque_flbs; ++i) {
    b.AddFlb(absl::StrFormat("example-flb-%d-v1", i), b.PreserveNew(0), 1);
  }
  if (s.iommu) {
    IommuPreserver io(&b, {s.abi, s.policy});
    struct UnitInfo {
      int handle;
      bool scalable;
      std::vector<int> domains;
    };
    std::vector<UnitInfo> unit_info;
    for (int i = 0; i < units; ++i) {
      UnitInfo u;
      if (i < s.intel_units + s.legacy_intel_units) {
        u.scalable = i < s.intel_units;
        u.handle =
            io.AddIntelUnit(0xfed90000ull + 0x1000ull * static_cast<uint64_t>(i), u.scalable);
      } else {
        u.scalable = false;
        u.handle = io.AddSmmuV3Unit(0x2b400000ull + 0x100000ull * static_cast<uint64_t>(i));
      }
      for (int d = 0; d < s.domains_per_unit; ++d)
        u.domains.push_back(io.AddDomain(u.handle, s.levels));
      unit_info.push_back(std::move(u));
    }
    std::vector<int> devices;
    for (int i = 0; i < s.devices; ++i) {
      const UnitInfo& u = unit_info[static_cast<size_t>(i % units)];
      const int domain = u.domains[static_cast<size_t>((i / units) % s.domains_per_unit)];
      // Segment, bus and devfn from the index: unique per device.
      const int dev =
          io.AddDevice(u.handle, static_cast<uint32_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                       static_cast<uint8_t>(i), u.scalable ? s.max_pasid : 0);
      if (absl::Status st = io.Attach(dev, domain); !st.ok()) return st;
      if (u.scalable) {
        for (uint32_t pasid : s.pasids) {
          if (absl::Status st = io.Attach(dev, domain, pasid); !st.ok()) return st;
        }
      }
      if (absl::Status st = io.PreserveDevice(dev); !st.ok()) return st;
      devices.push_back(dev);
    }
    for (int i = 0; i < s.unpreserve; ++i) {
      if (absl::Status st = io.UnpreserveDevice(devices[static_cast<size_t>(i)]); !st.ok())
        return st;
    }
    if (absl::Status st = io.Finish(); !st.ok()) return st;
  }
  return std::move(b).Finish();
}

namespace {

using Json = nlohmann::json;

const char* PolicyName(PasidPolicy p) {
  switch (p) {
    case PasidPolicy::kAbiDefault:
      return "abi-default";
    case PasidPolicy::kNoPasidOnly:
      return "no-pasid";
    case PasidPolicy::kAllPresent:
      return "all-present";
  }
  return "?";
}

}  // namespace

absl::StatusOr<Scenario> ScenarioFromJson(absl::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("a scenario is a JSON object");
  }
  Scenario s;
  static const std::set<std::string> kKeys = {"name",
                                              "abi",
                                              "kho",
                                              "policy",
                                              "liveupdate_number",
                                              "memory",
                                              "intel_units",
                                              "legacy_intel_units",
                                              "smmu_units",
                                              "domains_per_unit",
                                              "levels",
                                              "devices",
                                              "max_pasid",
                                              "pasids",
                                              "unpreserve",
                                              "opaque_flbs",
                                              "iommu",
                                              "description"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (kKeys.count(it.key()) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown scenario key \"", it.key(), "\""));
    }
  }
  auto get_int = [&j](const char* key, int64_t lo, int64_t hi, auto* out) -> absl::Status {
    auto it = j.find(key);
    if (it == j.end()) return absl::OkStatus();
    if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
      return absl::InvalidArgumentError(
          absl::StrFormat("\"%s\" must be an integer from %d to %d", key, lo, hi));
    }
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(it->get<int64_t>());
    return absl::OkStatus();
  };
  auto get_string = [&j](const char* key, std::string* out) -> absl::Status {
    auto it = j.find(key);
    if (it == j.end()) return absl::OkStatus();
    if (!it->is_string())
      return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a string"));
    *out = it->get<std::string>();
    return absl::OkStatus();
  };
  std::string abi = "B", kho = "kho-v2", policy = "abi-default";
  for (absl::Status st :
       {get_string("name", &s.name), get_string("abi", &abi), get_string("kho", &kho),
        get_string("policy", &policy),
        get_int("liveupdate_number", 0, INT64_MAX, &s.liveupdate_number),
        get_int("intel_units", 0, 64, &s.intel_units),
        get_int("legacy_intel_units", 0, 64, &s.legacy_intel_units),
        get_int("smmu_units", 0, 64, &s.smmu_units),
        get_int("domains_per_unit", 1, 4096, &s.domains_per_unit),
        get_int("levels", 3, 5, &s.levels), get_int("devices", 0, 65536, &s.devices),
        get_int("max_pasid", 0, 1 << 20, &s.max_pasid),
        get_int("unpreserve", 0, 65536, &s.unpreserve),
        get_int("opaque_flbs", 0, 60, &s.opaque_flbs)}) {
    if (!st.ok()) return st;
  }
  if (abi == "A" || abi == "iommu-liveupdate-v1") {
    s.abi = IommuAbi::kA;
  } else if (abi == "B" || abi == "iommu-liveupdate") {
    s.abi = IommuAbi::kB;
  } else {
    return absl::InvalidArgumentError("\"abi\" must be \"A\" or \"B\"");
  }
  if (kho == "kho-v1" || kho == "v1") {
    s.kho = KhoVersion::kV1;
  } else if (kho == "kho-v2" || kho == "v2") {
    s.kho = KhoVersion::kV2;
  } else {
    return absl::InvalidArgumentError("\"kho\" must be \"kho-v1\" or \"kho-v2\"");
  }
  if (policy == "abi-default") {
    s.policy = PasidPolicy::kAbiDefault;
  } else if (policy == "no-pasid") {
    s.policy = PasidPolicy::kNoPasidOnly;
  } else if (policy == "all-present") {
    s.policy = PasidPolicy::kAllPresent;
  } else {
    return absl::InvalidArgumentError("\"policy\" must be abi-default, no-pasid or all-present");
  }
  if (auto it = j.find("iommu"); it != j.end()) {
    if (!it->is_boolean()) return absl::InvalidArgumentError("\"iommu\" must be true or false");
    s.iommu = it->get<bool>();
  }
  if (auto it = j.find("pasids"); it != j.end()) {
    if (!it->is_array()) return absl::InvalidArgumentError("\"pasids\" must be an array");
    for (const Json& p : *it) {
      if (!p.is_number_integer() || p.get<int64_t>() < 1 || p.get<int64_t>() >= (1 << 20)) {
        return absl::InvalidArgumentError("\"pasids\" holds PASIDs from 1 to 2^20 - 1");
      }
      s.pasids.push_back(static_cast<uint32_t>(p.get<int64_t>()));
    }
  }
  if (auto it = j.find("memory"); it != j.end()) {
    if (!it->is_object()) return absl::InvalidArgumentError("\"memory\" must be an object");
    for (auto m = it->begin(); m != it->end(); ++m) {
      if (m.key() != "base" && m.key() != "seed" && m.key() != "max_gap_pages") {
        return absl::InvalidArgumentError(absl::StrCat("unknown memory key \"", m.key(), "\""));
      }
      if (m.key() == "base" && m->is_string()) {
        s.memory.base = std::stoull(m->get<std::string>(), nullptr, 0);
        continue;
      }
      if (!m->is_number_unsigned()) {
        return absl::InvalidArgumentError(
            absl::StrCat("memory.", m.key(), " must be an unsigned integer"));
      }
      const uint64_t v = m->get<uint64_t>();
      if (m.key() == "base") s.memory.base = v;
      if (m.key() == "seed") s.memory.seed = v;
      if (m.key() == "max_gap_pages") s.memory.max_gap_pages = static_cast<uint32_t>(v);
    }
  }
  return s;
}

std::string ScenarioToJson(const Scenario& s) {
  Json j = {{"name", s.name},
            {"abi", s.abi == IommuAbi::kA ? "A" : "B"},
            {"kho", s.kho == KhoVersion::kV1 ? "kho-v1" : "kho-v2"},
            {"policy", PolicyName(s.policy)},
            {"liveupdate_number", s.liveupdate_number},
            {"memory",
             {{"base", absl::StrFormat("%#x", s.memory.base)},
              {"seed", s.memory.seed},
              {"max_gap_pages", s.memory.max_gap_pages}}},
            {"intel_units", s.intel_units},
            {"legacy_intel_units", s.legacy_intel_units},
            {"smmu_units", s.smmu_units},
            {"domains_per_unit", s.domains_per_unit},
            {"levels", s.levels},
            {"devices", s.devices},
            {"max_pasid", s.max_pasid},
            {"pasids", s.pasids},
            {"unpreserve", s.unpreserve},
            {"opaque_flbs", s.opaque_flbs},
            {"iommu", s.iommu}};
  return j.dump(2) + "\n";
}

}  // namespace khoabi
