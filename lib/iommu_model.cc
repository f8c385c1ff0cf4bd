#include "lib/iommu_model.h"

#include <algorithm>

namespace khoabi {

absl::string_view IommuAbiName(IommuAbi abi) { return abi == IommuAbi::kA ? "A" : "B"; }

absl::string_view IommuAbiCompatible(IommuAbi abi) {
  return abi == IommuAbi::kA ? IOMMU_A_FLB_COMPATIBLE : IOMMU_B_FLB_COMPATIBLE;
}

const IommuAbiLayout& LayoutOf(IommuAbi abi) {
  static constexpr IommuAbiLayout kA = {sizeof(iommu_hw_ser_a),     sizeof(iommu_domain_ser_a),
                                        sizeof(iommu_device_ser_a), IOMMU_A_HW_PER_PAGE,
                                        IOMMU_A_DOMAINS_PER_PAGE,   IOMMU_A_DEVICES_PER_PAGE};
  static constexpr IommuAbiLayout kB = {sizeof(iommu_hw_ser_b),     sizeof(iommu_domain_ser_b),
                                        sizeof(iommu_device_ser_b), IOMMU_B_HW_PER_PAGE,
                                        IOMMU_B_DOMAINS_PER_PAGE,   IOMMU_B_DEVICES_PER_PAGE};
  return abi == IommuAbi::kA ? kA : kB;
}

bool operator==(const pasid_entry& a, const pasid_entry& b) {
  return std::memcmp(a.val, b.val, sizeof a.val) == 0;
}

namespace {
bool IsZero(const pasid_entry& e) {
  uint64_t any = 0;
  for (uint64_t v : e.val) any |= v;
  return any == 0;
}
}  // namespace

pasid_entry PasidTableContent::Get(uint32_t index) const {
  index &= VTD_PASID_TBL_ENTRIES - 1;
  pasid_entry e;
  if (view_ != nullptr) {
    std::memcpy(&e, view_ + index * sizeof e, sizeof e);
    return e;
  }
  std::memset(&e, 0, sizeof e);
  auto it = std::lower_bound(owned_.begin(), owned_.end(), index,
                             [](const auto& p, uint32_t i) { return p.first < i; });
  if (it != owned_.end() && it->first == index) e = it->second;
  return e;
}

void PasidTableContent::Set(uint32_t index, const pasid_entry& e) {
  index &= VTD_PASID_TBL_ENTRIES - 1;
  if (view_ != nullptr) {
    const uint8_t* page = view_;
    view_ = nullptr;
    owned_.clear();
    for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) {
      pasid_entry v;
      std::memcpy(&v, page + i * sizeof v, sizeof v);
      if (!IsZero(v)) owned_.emplace_back(i, v);
    }
  }
  auto it = std::lower_bound(owned_.begin(), owned_.end(), index,
                             [](const auto& p, uint32_t i) { return p.first < i; });
  if (it != owned_.end() && it->first == index) {
    if (IsZero(e)) {
      owned_.erase(it);
    } else {
      it->second = e;
    }
  } else if (!IsZero(e)) {
    owned_.insert(it, {index, e});
  }
}

void PasidTableContent::Write(uint8_t* page) const {
  if (view_ != nullptr) {
    std::memcpy(page, view_, KHOABI_PAGE_SIZE);
    return;
  }
  std::memset(page, 0, KHOABI_PAGE_SIZE);
  for (const auto& [i, e] : owned_) std::memcpy(page + i * sizeof e, &e, sizeof e);
}

bool operator==(const PasidTableContent& a, const PasidTableContent& b) {
  if (a.view_ != nullptr && b.view_ != nullptr) {
    return std::memcmp(a.view_, b.view_, KHOABI_PAGE_SIZE) == 0;
  }
  for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) {
    if (!(a.Get(i) == b.Get(i))) return false;
  }
  return true;
}

const PasidTable* PasidState::TableFor(uint32_t dir_index) const {
  auto it = std::lower_bound(tables.begin(), tables.end(), dir_index,
                             [](const PasidTable& t, uint32_t i) { return t.dir_index < i; });
  return it != tables.end() && it->dir_index == dir_index ? &*it : nullptr;
}

pasid_entry PasidState::Entry(uint32_t pasid) const {
  const PasidTable* t = TableFor(pasid >> VTD_PASID_PDE_SHIFT);
  if (t != nullptr) return t->entries.Get(pasid & (VTD_PASID_TBL_ENTRIES - 1));
  pasid_entry e;
  std::memset(&e, 0, sizeof e);
  return e;
}

void PasidState::ForEachPresent(const std::function<void(uint32_t, const pasid_entry&)>& fn) const {
  for (const PasidTable& t : tables) {
    for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) {
      const pasid_entry e = t.entries.Get(i);
      if (vtd_pe_present(&e)) fn((t.dir_index << VTD_PASID_PDE_SHIFT) | i, e);
    }
  }
}

iommu_intel_ser IommuUnit::intel() const {
  iommu_intel_ser v;
  std::memcpy(&v, arch.data(), sizeof v);
  return v;
}

void IommuUnit::set_intel(const iommu_intel_ser& v) {
  arch.fill(0);
  std::memcpy(arch.data(), &v, sizeof v);
}

iommu_smmuv3_hw_ser IommuUnit::smmuv3() const {
  iommu_smmuv3_hw_ser v;
  std::memcpy(&v, arch.data(), sizeof v);
  return v;
}

void IommuUnit::set_smmuv3(const iommu_smmuv3_hw_ser& v) {
  arch.fill(0);
  std::memcpy(arch.data(), &v, sizeof v);
}

uint64_t IommuDevice::pasid_table(IommuAbi abi) const {
  uint64_t v;
  std::memcpy(&v, arch.data() + (abi == IommuAbi::kA ? 0 : 8), sizeof v);
  return v;
}

uint64_t IommuDevice::max_pasid(IommuAbi abi) const {
  uint64_t v;
  std::memcpy(&v, arch.data() + (abi == IommuAbi::kA ? 8 : 16), sizeof v);
  return v;
}

uint8_t IommuDevice::intel_restored(IommuAbi abi) const {
  return abi == IommuAbi::kA ? 0 : arch[0];
}

void IommuDevice::set_intel(IommuAbi abi, uint64_t table, uint64_t max) {
  arch.fill(0);
  const size_t at = abi == IommuAbi::kA ? 0 : 8;
  std::memcpy(arch.data() + at, &table, sizeof table);
  std::memcpy(arch.data() + at + 8, &max, sizeof max);
}

iommu_master_smmuv3_ser IommuDevice::smmuv3() const {
  iommu_master_smmuv3_ser v;
  std::memcpy(&v, arch.data(), sizeof v);
  return v;
}

void IommuDevice::set_smmuv3(const iommu_master_smmuv3_ser& v) {
  arch.fill(0);
  std::memcpy(arch.data(), &v, sizeof v);
}

uint64_t IommuModel::ObjectPa(IommuObjectKind kind, size_t index) const {
  const IommuAbiLayout& l = LayoutOf(abi);
  const std::vector<IommuArrayPage>& pages = kind == IommuObjectKind::kUnit     ? unit_pages
                                             : kind == IommuObjectKind::kDomain ? domain_pages
                                                                                : device_pages;
  const uint32_t size = kind == IommuObjectKind::kUnit     ? l.unit_size
                        : kind == IommuObjectKind::kDomain ? l.domain_size
                                                           : l.device_size;
  for (const IommuArrayPage& p : pages) {
    if (index < p.nr_objects) return p.pa + sizeof(iommu_array_hdr_ser) + index * size;
    index -= p.nr_objects;
  }
  return 0;
}

const IommuDevice* IommuModel::FindDevice(uint32_t pci_domain_nr, uint32_t devid) const {
  for (const IommuDevice& d : devices) {
    if (!d.hdr.deleted() && d.pci_domain_nr == pci_domain_nr && d.devid == devid) return &d;
  }
  return nullptr;
}

}  // namespace khoabi
