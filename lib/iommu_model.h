// iommu_model.h: the IOMMU live-update state of a handoff, in either ABI.
//
// One model serves both ABI versions (spec/iommu-abi.md): fields that only
// one version has are ignored when encoding the other. The model is fully
// placed: every array page and PASID page has its PA, and cross-references
// are kept as stored (raw PAs) together with the object they resolve to, so
// an image can be rebuilt exactly from a decoded model.
//
// The decoder returns this model as a read-only view: PASID tables are not
// copied but refer to the image (PasidTableContent), and the accessors below
// are how tools and fuzz oracles walk the state.
#ifndef KHOABI_LIB_IOMMU_MODEL_H_
#define KHOABI_LIB_IOMMU_MODEL_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "abi/iommu.h"
#include "abi/vtd_pasid.h"
#include "absl/strings/string_view.h"

namespace khoabi {

enum class IommuAbi : uint8_t {
  kA = 1,  // "iommu-liveupdate-v1"
  kB = 2,  // "iommu-liveupdate", version 1
};

absl::string_view IommuAbiName(IommuAbi abi);  // "A", "B"
absl::string_view IommuAbiCompatible(IommuAbi abi);

// Object sizes and per-page capacities of each ABI.
struct IommuAbiLayout {
  uint32_t unit_size, domain_size, device_size;
  uint32_t units_per_page, domains_per_page, devices_per_page;
};
const IommuAbiLayout& LayoutOf(IommuAbi abi);

// --- PASID -------------------------------------------------------------------

bool operator==(const pasid_entry& a, const pasid_entry& b);

// The 64 entries of one PASID table: either a view of the page in a decoded
// image (no copy), or owned entries set one by one (the encoder's input).
class PasidTableContent {
 public:
  PasidTableContent() = default;
  // View refers to 4096 bytes that outlive this object.
  static PasidTableContent View(const uint8_t* page) {
    PasidTableContent c;
    c.view_ = page;
    return c;
  }

  // Get returns entry `index` (taken modulo 64).
  pasid_entry Get(uint32_t index) const;
  // Set stores entry `index` modulo 64 (a view is first copied into owned
  // entries).
  void Set(uint32_t index, const pasid_entry& e);
  bool is_view() const { return view_ != nullptr; }
  // Write renders the 4096-byte page.
  void Write(uint8_t* page) const;

  friend bool operator==(const PasidTableContent& a, const PasidTableContent& b);

 private:
  const uint8_t* view_ = nullptr;
  std::vector<std::pair<uint32_t, pasid_entry>> owned_;  // sorted by index, non-zero
};

struct PasidTable {
  uint32_t dir_index = 0;  // PASIDs dir_index * 64 .. + 63
  uint64_t pde = 0;        // the directory entry as stored (present; table PA in 63:12)
  PasidTableContent entries;

  uint64_t pa() const { return pde & VTD_PDE_TABLE_MASK; }
  friend bool operator==(const PasidTable& a, const PasidTable& b) {
    return a.dir_index == b.dir_index && a.pde == b.pde && a.entries == b.entries;
  }
};

// A device's PASID directory and tables (Intel VT-d scalable mode).
struct PasidState {
  // Non-present, non-zero directory entries (stale leftovers): index, value.
  std::vector<std::pair<uint32_t, uint64_t>> stale_dir_entries;
  std::vector<PasidTable> tables;  // present directory entries, by dir_index

  const PasidTable* TableFor(uint32_t dir_index) const;
  // Entry returns the entry of `pasid`, or an all-zero entry.
  pasid_entry Entry(uint32_t pasid) const;
  // ForEachPresent calls fn(pasid, entry) for every present PASID entry.
  void ForEachPresent(const std::function<void(uint32_t, const pasid_entry&)>& fn) const;

  friend bool operator==(const PasidState& a, const PasidState& b) {
    return a.stale_dir_entries == b.stale_dir_entries && a.tables == b.tables;
  }
};

// --- Objects -------------------------------------------------------------------

struct IommuHeader {
  uint32_t ref_count = 1;
  uint32_t flags = 0;

  bool deleted() const { return flags & IOMMU_SER_FLAG_DELETED; }
  friend bool operator==(const IommuHeader& a, const IommuHeader& b) {
    return a.ref_count == b.ref_count && a.flags == b.flags;
  }
};

struct IommuUnit {
  IommuHeader hdr;
  uint64_t token = 0;
  uint64_t type = IOMMU_SER_TYPE_INTEL;
  // The 88 bytes at offset 24: struct iommu_intel_ser, or (B) struct
  // iommu_smmuv3_hw_ser followed by zeros.
  std::array<uint8_t, 88> arch{};

  iommu_intel_ser intel() const;
  void set_intel(const iommu_intel_ser& v);
  iommu_smmuv3_hw_ser smmuv3() const;
  void set_smmuv3(const iommu_smmuv3_hw_ser& v);

  friend bool operator==(const IommuUnit& a, const IommuUnit& b) {
    return a.hdr == b.hdr && a.token == b.token && a.type == b.type && a.arch == b.arch;
  }
};

struct IommuDomain {
  IommuHeader hdr;
  uint64_t top_table_phys = 0;
  uint64_t top_level = 0;
  uint32_t vasz = 0;
  uint8_t sign_extend = 0;           // A: the whole byte (bit 0 defined)
  std::array<uint8_t, 3> padding{};  // B only
  uint64_t restored_domain = 0;

  friend bool operator==(const IommuDomain& a, const IommuDomain& b) {
    return a.hdr == b.hdr && a.top_table_phys == b.top_table_phys && a.top_level == b.top_level &&
           a.vasz == b.vasz && a.sign_extend == b.sign_extend && a.padding == b.padding &&
           a.restored_domain == b.restored_domain;
  }
};

inline constexpr int32_t kNoObject = -1;

struct IommuDevice {
  IommuHeader hdr;
  uint32_t devid = 0;
  uint32_t pci_domain_nr = 0;
  uint64_t dma_owner_token = 0;  // B only
  uint64_t attachment_id = 0;
  uint64_t domain_phys = 0;  // as stored
  uint64_t iommu_phys = 0;   // as stored
  // The union at the end: A: struct iommu_device_intel_ser_a (16 bytes);
  // B: struct iommu_device_intel_ser_b or iommu_master_smmuv3_ser (24).
  std::array<uint8_t, 24> arch{};
  // What domain_phys / iommu_phys resolve to: indexes into IommuModel's
  // domains / units, or kNoObject.
  int32_t domain = kNoObject;
  int32_t unit = kNoObject;
  // PASID directory and tables (Intel devices with a directory).
  PasidState pasid;

  uint8_t bus() const { return static_cast<uint8_t>(devid >> 8); }
  uint8_t devfn() const { return static_cast<uint8_t>(devid); }

  // The Intel arm, read per ABI.
  uint64_t pasid_table(IommuAbi abi) const;
  uint64_t max_pasid(IommuAbi abi) const;
  uint8_t intel_restored(IommuAbi abi) const;  // B only; 0 for A
  void set_intel(IommuAbi abi, uint64_t pasid_table, uint64_t max_pasid);
  iommu_master_smmuv3_ser smmuv3() const;
  void set_smmuv3(const iommu_master_smmuv3_ser& v);

  friend bool operator==(const IommuDevice& a, const IommuDevice& b) {
    return a.hdr == b.hdr && a.devid == b.devid && a.pci_domain_nr == b.pci_domain_nr &&
           a.dma_owner_token == b.dma_owner_token && a.attachment_id == b.attachment_id &&
           a.domain_phys == b.domain_phys && a.iommu_phys == b.iommu_phys && a.arch == b.arch &&
           a.domain == b.domain && a.unit == b.unit && a.pasid == b.pasid;
  }
};

// One page of an object array list.
struct IommuArrayPage {
  uint64_t pa = 0;
  uint64_t nr_objects = 0;

  friend bool operator==(const IommuArrayPage& a, const IommuArrayPage& b) {
    return a.pa == b.pa && a.nr_objects == b.nr_objects;
  }
};

enum class IommuObjectKind : uint8_t { kUnit = 0, kDomain = 1, kDevice = 2 };

struct IommuModel {
  IommuAbi abi = IommuAbi::kB;
  uint64_t flb_ser_pa = 0;                 // the FLB entry's data
  uint64_t flb_count = 1;                  // the FLB entry's count
  uint64_t version = IOMMU_B_FLB_VERSION;  // B's version field as stored
  // Array lists, in list order. Objects fill pages in order: page k holds
  // nr_objects consecutive objects.
  std::vector<IommuArrayPage> unit_pages, domain_pages, device_pages;
  std::vector<IommuUnit> units;
  std::vector<IommuDomain> domains;
  std::vector<IommuDevice> devices;

  // PA of object `index` of a kind (its place in the array pages), or 0.
  uint64_t ObjectPa(IommuObjectKind kind, size_t index) const;

  const IommuDomain* DomainOf(const IommuDevice& d) const {
    return d.domain == kNoObject ? nullptr : &domains[static_cast<size_t>(d.domain)];
  }
  const IommuUnit* UnitOf(const IommuDevice& d) const {
    return d.unit == kNoObject ? nullptr : &units[static_cast<size_t>(d.unit)];
  }
  // FindDevice returns the live device (pci_domain_nr, devid), or nullptr.
  const IommuDevice* FindDevice(uint32_t pci_domain_nr, uint32_t devid) const;

  friend bool operator==(const IommuModel& a, const IommuModel& b) {
    return a.abi == b.abi && a.flb_ser_pa == b.flb_ser_pa && a.flb_count == b.flb_count &&
           a.version == b.version && a.unit_pages == b.unit_pages &&
           a.domain_pages == b.domain_pages && a.device_pages == b.device_pages &&
           a.units == b.units && a.domains == b.domains && a.devices == b.devices;
  }
};

}  // namespace khoabi

#endif  // KHOABI_LIB_IOMMU_MODEL_H_
