#include "lib/iommu_preserver.h"

#include <cstring>
#include <string>

#include "abi/vtd_pasid.h"
#include "absl/strings/str_format.h"
#include "lib/iommu.h"

namespace khoabi {
namespace {

// A recognisable, deterministic page for opaque tables (root table, top page
// table): the first words name the page, the rest is zero.
std::vector<uint8_t> OpaqueTable(uint64_t pa, uint64_t tag) {
  std::vector<uint8_t> bytes(64, 0);
  const uint64_t words[4] = {pa | 0x3, tag, pa ^ 0x9e3779b97f4a7c15ull, ~pa};
  std::memcpy(bytes.data(), words, sizeof words);
  return bytes;
}

}  // namespace

IommuPreserver::IommuPreserver(HandoffBuilder* builder, const Config& config)
    : builder_(builder), abi_(config.abi), policy_(EffectivePolicy(config.abi, config.policy)) {
  model_.abi = abi_;
  model_.version = abi_ == IommuAbi::kB ? IOMMU_B_FLB_VERSION : 0;
}

int IommuPreserver::AddIntelUnit(uint64_t reg_base, bool scalable) {
  Unit u;
  u.type = IOMMU_SER_TYPE_INTEL;
  u.reg_base = reg_base;
  u.scalable = scalable;
  u.root_table = builder_->Alloc(0);
  units_.push_back(u);
  return static_cast<int>(units_.size() - 1);
}

int IommuPreserver::AddSmmuV3Unit(uint64_t reg_base) {
  if (abi_ != IommuAbi::kB) {
    builder_->Fail(absl::InvalidArgumentError("SMMUv3 units exist in ABI B only"));
  }
  Unit u;
  u.type = IOMMU_SER_TYPE_ARM_SMMUV3;
  u.reg_base = reg_base;
  u.scalable = false;
  units_.push_back(u);
  return static_cast<int>(units_.size() - 1);
}

int IommuPreserver::AddDomain(int unit, int levels) {
  if (!Valid(unit, units_.size()) || levels < 3 || levels > 5) {
    builder_->Fail(absl::InvalidArgumentError(
        absl::StrFormat("AddDomain: bad unit %d or levels %d", unit, levels)));
    return -1;
  }
  Domain d;
  d.levels = levels;
  d.top_table = builder_->Alloc(0);
  domains_.push_back(d);
  const int handle = static_cast<int>(domains_.size() - 1);
  DomainId(handle, unit);
  return handle;
}

int IommuPreserver::AddDevice(int unit, uint32_t segment, uint8_t bus, uint8_t devfn,
                              uint32_t max_pasid) {
  if (!Valid(unit, units_.size()) || max_pasid > VTD_PASID_MAX) {
    builder_->Fail(absl::InvalidArgumentError(
        absl::StrFormat("AddDevice: bad unit %d or max_pasid %u", unit, max_pasid)));
    return -1;
  }
  Device d;
  d.unit = unit;
  d.segment = segment;
  d.devid = static_cast<uint16_t>((bus << 8) | devfn);
  if (units_[static_cast<size_t>(unit)].scalable) {
    // intel_pasid_alloc_table(): the directory's order comes from max_pasid,
    // and the rounded value is what is stored.
    d.dir_order = vtd_pasid_dir_order(max_pasid);
    d.max_pasid = vtd_pasid_stored_max(d.dir_order);
    d.dir = builder_->Alloc(d.dir_order);
  }
  devices_.push_back(d);
  return static_cast<int>(devices_.size() - 1);
}

uint16_t IommuPreserver::DomainId(int domain, int unit) {
  Domain& d = domains_[static_cast<size_t>(domain)];
  auto it = d.did.find(unit);
  if (it != d.did.end()) return it->second;
  const uint16_t did = units_[static_cast<size_t>(unit)].next_did++;
  d.did[unit] = did;
  return did;
}

pasid_entry IommuPreserver::SecondLevelEntry(const Domain& d, uint16_t did) const {
  pasid_entry e;
  std::memset(&e, 0, sizeof e);
  // pasid_pte_config_second_level(): SLPTPTR, AW = levels - 2, PGTT second
  // level, DID, page snoop, present.
  e.val[0] = d.top_table | (static_cast<uint64_t>(d.levels - 2) << VTD_PE0_AW_SHIFT) |
             (static_cast<uint64_t>(VTD_PGTT_SL_ONLY) << VTD_PE0_PGTT_SHIFT) | VTD_PE0_PRESENT;
  e.val[1] = did | VTD_PE1_PWSNP;
  return e;
}

std::string IommuPreserver::DeviceName(const Device& d) const {
  return absl::StrFormat("%04x:%02x:%02x.%u", d.segment, d.devid >> 8, (d.devid >> 3) & 0x1f,
                         d.devid & 7);
}

absl::Status IommuPreserver::Attach(int device, int domain, uint32_t pasid) {
  if (!Valid(device, devices_.size()) || !Valid(domain, domains_.size())) {
    return absl::InvalidArgumentError("Attach: no such device or domain");
  }
  Device& d = devices_[static_cast<size_t>(device)];
  if (d.preserved) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "device %s is preserved for live update: PASID attachments are refused until it is "
        "unpreserved",
        DeviceName(d)));
  }
  const Unit& unit = units_[static_cast<size_t>(d.unit)];
  if (pasid != IOMMU_NO_PASID && (d.dir == 0 || pasid >= d.max_pasid)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("device %s does not support PASID %u", DeviceName(d), pasid));
  }
  d.attached[pasid] = domain;
  if (unit.type != IOMMU_SER_TYPE_INTEL || d.dir == 0) return absl::OkStatus();
  const uint32_t dir_index = pasid >> VTD_PASID_PDE_SHIFT;
  if (d.tables.count(dir_index) == 0) d.tables[dir_index] = builder_->Alloc(0);
  d.entries[pasid] =
      SecondLevelEntry(domains_[static_cast<size_t>(domain)], DomainId(domain, d.unit));
  return builder_->status();
}

absl::Status IommuPreserver::Detach(int device, uint32_t pasid) {
  if (!Valid(device, devices_.size())) return absl::InvalidArgumentError("Detach: no such device");
  Device& d = devices_[static_cast<size_t>(device)];
  if (d.preserved) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "device %s is preserved for live update; unpreserve it first", DeviceName(d)));
  }
  if (d.attached.erase(pasid) == 0) {
    return absl::NotFoundError(
        absl::StrFormat("PASID %u of %s is not attached", pasid, DeviceName(d)));
  }
  d.entries.erase(pasid);
  // A table with no entry left is freed and its directory entry cleared.
  const uint32_t dir_index = pasid >> VTD_PASID_PDE_SHIFT;
  auto first = d.entries.lower_bound(dir_index << VTD_PASID_PDE_SHIFT);
  if (first == d.entries.end() || (first->first >> VTD_PASID_PDE_SHIFT) != dir_index) {
    d.tables.erase(dir_index);
  }
  return absl::OkStatus();
}

std::vector<uint32_t> IommuPreserver::PasidsInUse(int device) const {
  std::vector<uint32_t> out;
  if (!Valid(device, devices_.size())) return out;
  for (const auto& [pasid, domain] : devices_[static_cast<size_t>(device)].attached) {
    out.push_back(pasid);
  }
  return out;
}

void IommuPreserver::Start() {
  if (started_) return;
  started_ = true;
  // The kernel allocates iommu_flb_ser and the first page of every list up
  // front (domains, devices, then units).
  model_.flb_ser_pa = builder_->Alloc(0);
  builder_->Preserve(model_.flb_ser_pa, 0);
  for (std::vector<IommuArrayPage>* pages :
       {&model_.domain_pages, &model_.device_pages, &model_.unit_pages}) {
    const uint64_t pa = builder_->Alloc(0);
    builder_->Preserve(pa, 0);
    pages->push_back({pa, 0});
  }
}

namespace {
// Appends an object slot to a list, starting a new page when the last is full.
size_t AppendSlot(std::vector<IommuArrayPage>* pages, uint32_t capacity, HandoffBuilder* b) {
  if (pages->back().nr_objects == capacity) {
    const uint64_t pa = b->Alloc(0);
    b->Preserve(pa, 0);
    pages->push_back({pa, 0});
  }
  size_t index = 0;
  for (const IommuArrayPage& p : *pages) index += p.nr_objects;
  ++pages->back().nr_objects;
  return index;
}
}  // namespace

absl::Status IommuPreserver::PreserveUnit(int unit) {
  Unit& u = units_[static_cast<size_t>(unit)];
  if (u.slot >= 0) return absl::OkStatus();
  const IommuAbiLayout& l = LayoutOf(abi_);
  u.slot = static_cast<int>(AppendSlot(&model_.unit_pages, l.units_per_page, builder_));
  IommuUnit obj;
  obj.type = u.type;
  obj.token = u.reg_base;  // the kernel's token is the register base
  if (u.type == IOMMU_SER_TYPE_INTEL) {
    iommu_intel_ser intel;
    std::memset(&intel, 0, sizeof intel);
    intel.phys_addr = u.reg_base;
    intel.root_table = u.root_table;
    obj.set_intel(intel);
    builder_->PreserveBlobAt(u.root_table, 0, OpaqueTable(u.root_table, 0x726f6f74));  // "root"
  } else {
    iommu_smmuv3_hw_ser smmu{u.reg_base, 0x10000 | static_cast<uint64_t>(unit), 0x5a5a0000, 0};
    obj.set_smmuv3(smmu);
  }
  model_.units.push_back(obj);
  return builder_->status();
}

absl::Status IommuPreserver::PreserveDomain(int domain) {
  Domain& d = domains_[static_cast<size_t>(domain)];
  if (d.slot >= 0) return absl::OkStatus();
  const IommuAbiLayout& l = LayoutOf(abi_);
  d.slot = static_cast<int>(AppendSlot(&model_.domain_pages, l.domains_per_page, builder_));
  IommuDomain obj;
  obj.top_table_phys = d.top_table;
  obj.top_level = static_cast<uint64_t>(d.levels - 1);  // generic-pt's 0-based top level
  obj.vasz = static_cast<uint32_t>(12 + 9 * d.levels);
  model_.domains.push_back(obj);
  builder_->PreserveBlobAt(d.top_table, 0, OpaqueTable(d.top_table, 0x746f70));  // "top"
  return builder_->status();
}

absl::Status IommuPreserver::PreserveDevice(int device) {
  if (!Valid(device, devices_.size())) return absl::InvalidArgumentError("no such device");
  Device& d = devices_[static_cast<size_t>(device)];
  const std::string name = DeviceName(d);
  if (d.preserved) return absl::FailedPreconditionError("device " + name + " is already preserved");
  auto rid = d.attached.find(IOMMU_NO_PASID);
  if (rid == d.attached.end()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("device %s has no domain attached (PASID 0)", name));
  }
  const Unit& unit = units_[static_cast<size_t>(d.unit)];
  const bool has_dir = unit.type == IOMMU_SER_TYPE_INTEL && d.dir != 0;
  if (policy_ == PasidPolicy::kNoPasidOnly) {
    // The review's rule: refuse, and touch nothing, if anything but
    // IOMMU_NO_PASID is in use.
    for (const auto& [pasid, dom] : d.attached) {
      if (pasid == IOMMU_NO_PASID) continue;
      return absl::FailedPreconditionError(absl::StrFormat(
          "device %s has PASID %u attached: under the NO_PASID-only policy only "
          "IOMMU_NO_PASID may be preserved; detach PASID %u first (its tables are live and "
          "are left untouched)",
          name, pasid, pasid));
    }
    if (has_dir && (d.tables.size() != 1 || d.tables.count(0) == 0)) {
      return absl::FailedPreconditionError(
          absl::StrFormat("device %s has PASID tables other than the one of PASID 0", name));
    }
  }
  const int domain = rid->second;
  if (absl::Status s = (Start(), PreserveUnit(d.unit)); !s.ok()) return s;
  if (absl::Status s = PreserveDomain(domain); !s.ok()) return s;
  // Every present PASID entry is handed over as is, so the page tables it
  // points at must be preserved too: the domains of all attached PASIDs.
  if (policy_ == PasidPolicy::kAllPresent) {
    for (const auto& [pasid, dom] : d.attached) {
      if (absl::Status s = PreserveDomain(dom); !s.ok()) return s;
    }
  }

  const IommuAbiLayout& l = LayoutOf(abi_);
  d.slot = static_cast<int>(AppendSlot(&model_.device_pages, l.devices_per_page, builder_));
  IommuDevice obj;
  obj.devid = d.devid;
  obj.pci_domain_nr = d.segment;
  obj.dma_owner_token = abi_ == IommuAbi::kB ? 0x1000 + static_cast<uint64_t>(device) : 0;
  obj.attachment_id = DomainId(domain, d.unit);
  const Unit& u = units_[static_cast<size_t>(d.unit)];
  obj.unit = u.slot;
  obj.domain = domains_[static_cast<size_t>(domain)].slot;
  obj.iommu_phys = model_.ObjectPa(IommuObjectKind::kUnit, static_cast<size_t>(u.slot));
  obj.domain_phys = model_.ObjectPa(
      IommuObjectKind::kDomain, static_cast<size_t>(domains_[static_cast<size_t>(domain)].slot));
  if (u.type == IOMMU_SER_TYPE_ARM_SMMUV3) {
    iommu_master_smmuv3_ser smmu{0xc0de0000 | d.devid, 2, 0, 0};
    obj.set_smmuv3(smmu);
  } else if (has_dir) {
    obj.set_intel(abi_, d.dir, d.max_pasid);
    builder_->Preserve(d.dir, d.dir_order);
    d.preserved_folios.push_back({d.dir, d.dir_order});
    for (const auto& [dir_index, table_pa] : d.tables) {
      PasidTable t;
      t.dir_index = dir_index;
      t.pde = table_pa | VTD_PDE_PRESENT;
      for (auto it = d.entries.lower_bound(dir_index << VTD_PASID_PDE_SHIFT);
           it != d.entries.end() && (it->first >> VTD_PASID_PDE_SHIFT) == dir_index; ++it) {
        t.entries.Set(it->first & (VTD_PASID_TBL_ENTRIES - 1), it->second);
      }
      obj.pasid.tables.push_back(std::move(t));
      builder_->Preserve(table_pa, 0);
      d.preserved_folios.push_back({table_pa, 0});
    }
  } else {
    obj.set_intel(abi_, 0, 0);  // not scalable: no PASID state handed over
  }
  model_.devices.push_back(std::move(obj));
  if (!builder_->status().ok()) {
    // Failed part-way: the kernel leaves the record in place, flagged.
    IommuDevice& failed = model_.devices.back();
    failed.hdr.flags |= IOMMU_SER_FLAG_DELETED;
    failed.unit = failed.domain = kNoObject;
    failed.pasid = PasidState{};
    return builder_->status();
  }
  ++model_.units[static_cast<size_t>(u.slot)].hdr.ref_count;
  d.preserved = true;
  return absl::OkStatus();
}

absl::Status IommuPreserver::UnpreserveDevice(int device) {
  if (!Valid(device, devices_.size())) return absl::InvalidArgumentError("no such device");
  Device& d = devices_[static_cast<size_t>(device)];
  if (!d.preserved) {
    return absl::FailedPreconditionError("device " + DeviceName(d) + " is not preserved");
  }
  IommuDevice& obj = model_.devices[static_cast<size_t>(d.slot)];
  obj.hdr.flags |= IOMMU_SER_FLAG_DELETED;  // the record stays in place
  // A deleted record is not restored: it resolves to nothing and hands over
  // no PASID state.
  --model_.units[static_cast<size_t>(obj.unit)].hdr.ref_count;
  obj.unit = kNoObject;
  obj.domain = kNoObject;
  obj.pasid = PasidState{};
  for (const auto& [pa, order] : d.preserved_folios) builder_->Unpreserve(pa);
  d.preserved_folios.clear();
  d.preserved = false;
  d.slot = -1;
  return absl::OkStatus();
}

absl::Status IommuPreserver::Finish() {
  if (finished_) return absl::FailedPreconditionError("Finish called twice");
  finished_ = true;
  Start();  // a handoff with no device still carries the (empty) lists
  builder_->AddFlb(IommuAbiCompatible(abi_), model_.flb_ser_pa, 1);
  builder_->model().iommu = model_;
  return builder_->status();
}

}  // namespace khoabi
