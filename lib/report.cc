#include "lib/report.h"

#include <algorithm>
#include <vector>

#include "abi/iommu.h"
#include "abi/vtd_pasid.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/iommu.h"
#include "nlohmann/json.hpp"

namespace khoabi {
namespace {

using Json = nlohmann::ordered_json;

std::string Hex(uint64_t v) { return absl::StrFormat("%#x", v); }

const char* TypeName(uint64_t type) {
  switch (type) {
    case IOMMU_SER_TYPE_INTEL:
      return "intel-vtd";
    case IOMMU_SER_TYPE_ARM_SMMUV3:
      return "arm-smmuv3";
    default:
      return "unknown";
  }
}

const char* PgttName(unsigned pgtt) {
  switch (pgtt) {
    case VTD_PGTT_FL_ONLY:
      return "first-level";
    case VTD_PGTT_SL_ONLY:
      return "second-level";
    case VTD_PGTT_NESTED:
      return "nested";
    case VTD_PGTT_PT:
      return "pass-through";
    default:
      return "invalid";
  }
}

const char* PolicyName(PasidPolicy p) {
  return p == PasidPolicy::kNoPasidOnly  ? "no-pasid"
         : p == PasidPolicy::kAllPresent ? "all-present"
                                         : "abi-default";
}

std::vector<const Problem*> Sorted(const Diagnostics& a, const Diagnostics& b) {
  std::vector<const Problem*> out;
  for (const Diagnostics* d : {&a, &b}) {
    for (const Problem& p : d->problems()) out.push_back(&p);
  }
  std::stable_sort(out.begin(), out.end(), [](const Problem* x, const Problem* y) {
    return x->is_error() && !y->is_error();
  });
  return out;
}

Json ProblemJson(const Problem& p) {
  return Json{{"severity", std::string(SeverityName(p.severity))},
              {"reason", std::string(ReasonName(p.reason))},
              {"path", p.path},
              {"pa", p.pa == kNoPa ? Json(nullptr) : Json(Hex(p.pa))},
              {"detail", p.detail}};
}

bool IsIntelDevice(const IommuModel& io, const IommuDevice& d) {
  return d.unit != kNoObject && io.units[static_cast<size_t>(d.unit)].type == IOMMU_SER_TYPE_INTEL;
}

}  // namespace

std::string PciName(uint32_t segment, uint32_t devid) {
  return absl::StrFormat("%04x:%02x:%02x.%u", segment, (devid >> 8) & 0xff, (devid >> 3) & 0x1f,
                         devid & 7);
}

std::string ProblemsText(const Diagnostics& file_diag, const Diagnostics& diag,
                         const ReportOptions& options) {
  std::string out;
  const uint64_t errors = file_diag.errors() + diag.errors();
  const uint64_t warnings = file_diag.warnings() + diag.warnings();
  absl::StrAppendFormat(&out, "%s: %s (%u error%s, %u warning%s)\n", options.source,
                        errors == 0 ? "valid" : "INVALID", errors, errors == 1 ? "" : "s", warnings,
                        warnings == 1 ? "" : "s");
  for (const Problem* p : Sorted(file_diag, diag)) {
    absl::StrAppendFormat(&out, "  %-7s reason: %s\n          path:   %s\n",
                          SeverityName(p->severity), ReasonName(p->reason),
                          p->path[0] ? p->path : "(image)");
    if (p->pa != kNoPa) absl::StrAppendFormat(&out, "          pa:     %#x\n", p->pa);
    if (p->detail[0]) absl::StrAppendFormat(&out, "          detail: %s\n", p->detail);
  }
  const uint64_t dropped = file_diag.dropped() + diag.dropped();
  if (dropped != 0) {
    absl::StrAppendFormat(&out, "  ... and %u more not shown (raise --max-problems)\n", dropped);
  }
  return out;
}

std::string ProblemsJson(const Diagnostics& file_diag, const Diagnostics& diag,
                         const ReportOptions& options) {
  Json problems = Json::array();
  for (const Problem* p : Sorted(file_diag, diag)) problems.push_back(ProblemJson(*p));
  Json j = {{"file", options.source},
            {"valid", file_diag.ok() && diag.ok()},
            {"errors", file_diag.errors() + diag.errors()},
            {"warnings", file_diag.warnings() + diag.warnings()},
            {"not_shown", file_diag.dropped() + diag.dropped()},
            {"problems", std::move(problems)}};
  return j.dump(2) + "\n";
}

std::string InspectText(const DecodeResult& r, const Diagnostics& file_diag,
                        const ReportOptions& options) {
  std::string out = ProblemsText(file_diag, r.diag, options);
  if (!file_diag.ok()) return out;
  const HandoffModel& m = r.handoff;
  const KhoModel& kho = m.kho;
  size_t claimed = 0;
  for (const PreservedMemory::Entry& e : r.memory.entries()) claimed += e.claimed;
  absl::StrAppendFormat(&out, "\nKHO    %s, root FDT at %#x\n", KhoVersionName(kho.version),
                        kho.root_fdt_pa);
  absl::StrAppendFormat(&out,
                        "       tracker: %s at %#x, %u pages; %u preserved folios, %u claimed\n",
                        kho.version == KhoVersion::kV2 ? "radix tree" : "bitmap chunks",
                        kho.tracker.root_pa(), kho.tracker.page_count(), r.memory.size(), claimed);
  if (options.show_folios) {
    for (const PreservedMemory::Entry& e : r.memory.entries()) {
      absl::StrAppendFormat(&out, "         folio %#x order %u%s%s\n", e.pa, e.order,
                            e.claimed ? "" : " (unclaimed)", e.in_image ? "" : " (not in image)");
    }
  }
  for (const KhoSubnode& s : kho.subnodes) {
    absl::StrAppendFormat(&out, "       node \"%s\" -> %#x\n", s.name, s.data_pa);
  }
  const LuoModel& luo = m.luo;
  if (luo.fdt_pa != 0) {
    absl::StrAppendFormat(&out, "LUO    luo-v1 FDT at %#x, liveupdate-number %u\n", luo.fdt_pa,
                          luo.liveupdate_number);
    absl::StrAppendFormat(&out, "       FLB header at %#x (pgcnt %u): %u entr%s\n",
                          luo.flb_header_pa, luo.flb_pgcnt, luo.flbs.size(),
                          luo.flbs.size() == 1 ? "y" : "ies");
    for (size_t i = 0; i < luo.flbs.size(); ++i) {
      absl::StrAppendFormat(&out, "         [%u] \"%s\" data %#x count %u\n", i,
                            std::string(luo.flbs[i].name()), luo.flbs[i].data, luo.flbs[i].count);
    }
  }
  if (!m.iommu.has_value()) return out;
  const IommuModel& io = *m.iommu;
  absl::StrAppendFormat(&out, "IOMMU  ABI %s \"%s\"%s, iommu_flb_ser at %#x, policy %s\n",
                        IommuAbiName(io.abi), IommuAbiCompatible(io.abi),
                        io.abi == IommuAbi::kB ? absl::StrFormat(" version %u", io.version) : "",
                        io.flb_ser_pa, PolicyName(EffectivePolicy(io.abi, r.policy)));
  auto pages = [&out](const char* what, const std::vector<IommuArrayPage>& ps, size_t n) {
    absl::StrAppendFormat(&out, "       %s: %u in %u page%s", what, n, ps.size(),
                          ps.size() == 1 ? "" : "s");
    for (const IommuArrayPage& p : ps) absl::StrAppendFormat(&out, " %#x(%u)", p.pa, p.nr_objects);
    absl::StrAppend(&out, "\n");
  };
  pages("units", io.unit_pages, io.units.size());
  for (size_t i = 0; i < io.units.size(); ++i) {
    const IommuUnit& u = io.units[i];
    absl::StrAppendFormat(&out, "         [%u] %-10s token %#x ref %u%s", i, TypeName(u.type),
                          u.token, u.hdr.ref_count, u.hdr.deleted() ? " DELETED" : "");
    if (u.type == IOMMU_SER_TYPE_INTEL) {
      absl::StrAppendFormat(&out, " regs %#x root_table %#x", u.intel().phys_addr,
                            u.intel().root_table);
    } else if (u.type == IOMMU_SER_TYPE_ARM_SMMUV3) {
      absl::StrAppendFormat(&out, " regs %#x strtab_base_cfg %#x", u.smmuv3().phys_addr,
                            u.smmuv3().strtab_base_cfg);
    }
    absl::StrAppend(&out, "\n");
  }
  pages("domains", io.domain_pages, io.domains.size());
  for (size_t i = 0; i < io.domains.size(); ++i) {
    const IommuDomain& d = io.domains[i];
    absl::StrAppendFormat(&out, "         [%u] top_table %#x top_level %u vasz %u ref %u%s\n", i,
                          d.top_table_phys, d.top_level, d.vasz, d.hdr.ref_count,
                          d.hdr.deleted() ? " DELETED" : "");
  }
  pages("devices", io.device_pages, io.devices.size());
  for (size_t i = 0; i < io.devices.size(); ++i) {
    const IommuDevice& d = io.devices[i];
    absl::StrAppendFormat(&out, "         [%u] %s", i, PciName(d.pci_domain_nr, d.devid));
    if (d.hdr.deleted()) {
      absl::StrAppend(&out, " DELETED (not restored)\n");
      continue;
    }
    absl::StrAppendFormat(&out, " unit[%d] domain[%d] attachment_id %u\n", d.unit, d.domain,
                          d.attachment_id);
    if (!IsIntelDevice(io, d)) continue;
    const uint64_t dir = d.pasid_table(io.abi);
    if (dir == 0) {
      absl::StrAppend(&out, "             no PASID state (not scalable mode)\n");
      continue;
    }
    std::vector<std::string> listed;
    size_t present = 0;
    d.pasid.ForEachPresent([&](uint32_t pasid, const pasid_entry& e) {
      if (listed.size() < options.max_pasids_listed) {
        listed.push_back(
            absl::StrFormat("%u (%s, DID %u)", pasid, PgttName(vtd_pe_pgtt(&e)), vtd_pe_did(&e)));
      }
      ++present;
    });
    absl::StrAppendFormat(
        &out, "             PASID directory %#x: %u PASIDs, %u table%s, %u present:", dir,
        d.max_pasid(io.abi), d.pasid.tables.size(), d.pasid.tables.size() == 1 ? "" : "s", present);
    for (size_t k = 0; k < listed.size(); ++k) absl::StrAppend(&out, k ? ", " : " ", listed[k]);
    if (present > listed.size())
      absl::StrAppendFormat(&out, ", ... %u more", present - listed.size());
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string InspectJson(const DecodeResult& r, const Diagnostics& file_diag,
                        const ReportOptions& options) {
  Json problems = Json::array();
  for (const Problem* p : Sorted(file_diag, r.diag)) problems.push_back(ProblemJson(*p));
  Json j = {{"file", options.source},
            {"valid", file_diag.ok() && r.diag.ok()},
            {"errors", file_diag.errors() + r.diag.errors()},
            {"warnings", file_diag.warnings() + r.diag.warnings()},
            {"not_shown", file_diag.dropped() + r.diag.dropped()},
            {"problems", std::move(problems)}};
  if (!file_diag.ok()) return j.dump(2) + "\n";
  const HandoffModel& m = r.handoff;
  Json folios = Json::array();
  for (const PreservedMemory::Entry& e : r.memory.entries()) {
    folios.push_back(
        {{"pa", Hex(e.pa)}, {"order", e.order}, {"claimed", e.claimed}, {"in_image", e.in_image}});
  }
  Json subnodes = Json::array();
  for (const KhoSubnode& s : m.kho.subnodes)
    subnodes.push_back({{"name", s.name}, {"data", Hex(s.data_pa)}});
  j["kho"] = {{"version", std::string(KhoVersionName(m.kho.version))},
              {"root_fdt", Hex(m.kho.root_fdt_pa)},
              {"tracker",
               {{"format", m.kho.version == KhoVersion::kV2 ? "radix-tree" : "bitmap-chunks"},
                {"root", Hex(m.kho.tracker.root_pa())},
                {"pages", m.kho.tracker.page_count()}}},
              {"subnodes", std::move(subnodes)},
              {"folios", std::move(folios)}};
  Json flbs = Json::array();
  for (const FlbEntry& e : m.luo.flbs) {
    flbs.push_back({{"name", std::string(e.name())}, {"data", Hex(e.data)}, {"count", e.count}});
  }
  j["luo"] = {{"fdt", Hex(m.luo.fdt_pa)},
              {"liveupdate_number", m.luo.liveupdate_number},
              {"flb_header", Hex(m.luo.flb_header_pa)},
              {"pgcnt", m.luo.flb_pgcnt},
              {"flbs", std::move(flbs)}};
  if (!m.iommu.has_value()) {
    j["iommu"] = nullptr;
    return j.dump(2) + "\n";
  }
  const IommuModel& io = *m.iommu;
  auto pages = [](const std::vector<IommuArrayPage>& ps) {
    Json a = Json::array();
    for (const IommuArrayPage& p : ps)
      a.push_back({{"pa", Hex(p.pa)}, {"nr_objects", p.nr_objects}});
    return a;
  };
  Json units = Json::array();
  for (size_t i = 0; i < io.units.size(); ++i) {
    const IommuUnit& u = io.units[i];
    Json ju = {{"index", i},
               {"pa", Hex(io.ObjectPa(IommuObjectKind::kUnit, i))},
               {"deleted", u.hdr.deleted()},
               {"ref_count", u.hdr.ref_count},
               {"flags", u.hdr.flags},
               {"type", TypeName(u.type)},
               {"type_code", u.type},
               {"token", Hex(u.token)}};
    if (u.type == IOMMU_SER_TYPE_INTEL) {
      ju["phys_addr"] = Hex(u.intel().phys_addr);
      ju["root_table"] = Hex(u.intel().root_table);
    } else if (u.type == IOMMU_SER_TYPE_ARM_SMMUV3) {
      ju["phys_addr"] = Hex(u.smmuv3().phys_addr);
    }
    units.push_back(std::move(ju));
  }
  Json domains = Json::array();
  for (size_t i = 0; i < io.domains.size(); ++i) {
    const IommuDomain& d = io.domains[i];
    domains.push_back({{"index", i},
                       {"pa", Hex(io.ObjectPa(IommuObjectKind::kDomain, i))},
                       {"deleted", d.hdr.deleted()},
                       {"ref_count", d.hdr.ref_count},
                       {"top_table", Hex(d.top_table_phys)},
                       {"top_level", d.top_level},
                       {"vasz", d.vasz},
                       {"sign_extend", d.sign_extend}});
  }
  Json devices = Json::array();
  for (size_t i = 0; i < io.devices.size(); ++i) {
    const IommuDevice& d = io.devices[i];
    Json jd = {{"index", i},
               {"pa", Hex(io.ObjectPa(IommuObjectKind::kDevice, i))},
               {"deleted", d.hdr.deleted()},
               {"ref_count", d.hdr.ref_count},
               {"bdf", PciName(d.pci_domain_nr, d.devid)},
               {"segment", d.pci_domain_nr},
               {"devid", d.devid},
               {"attachment_id", d.attachment_id},
               {"domain", d.domain == kNoObject ? Json(nullptr) : Json(d.domain)},
               {"unit", d.unit == kNoObject ? Json(nullptr) : Json(d.unit)},
               {"pasid", nullptr}};
    if (io.abi == IommuAbi::kB) jd["dma_owner_token"] = Hex(d.dma_owner_token);
    if (!d.hdr.deleted() && IsIntelDevice(io, d) && d.pasid_table(io.abi) != 0) {
      Json present = Json::array();
      d.pasid.ForEachPresent([&](uint32_t pasid, const pasid_entry& e) {
        present.push_back({{"pasid", pasid}, {"pgtt", vtd_pe_pgtt(&e)}, {"did", vtd_pe_did(&e)}});
      });
      jd["pasid"] = {{"directory", Hex(d.pasid_table(io.abi))},
                     {"max_pasid", d.max_pasid(io.abi)},
                     {"tables", d.pasid.tables.size()},
                     {"present", std::move(present)}};
    }
    devices.push_back(std::move(jd));
  }
  j["iommu"] = {{"abi", std::string(IommuAbiName(io.abi))},
                {"compatible", std::string(IommuAbiCompatible(io.abi))},
                {"version", io.abi == IommuAbi::kB ? Json(io.version) : Json(nullptr)},
                {"flb_ser", Hex(io.flb_ser_pa)},
                {"policy", PolicyName(EffectivePolicy(io.abi, r.policy))},
                {"unit_pages", pages(io.unit_pages)},
                {"domain_pages", pages(io.domain_pages)},
                {"device_pages", pages(io.device_pages)},
                {"units", std::move(units)},
                {"domains", std::move(domains)},
                {"devices", std::move(devices)}};
  return j.dump(2) + "\n";
}

}  // namespace khoabi
