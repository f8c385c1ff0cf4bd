// iommu_preserver.h: the preserving IOMMU driver, as a factory of handoffs.
//
// IommuPreserver keeps the live IOMMU state of a running kernel (units,
// domains, devices, each device's PASID directory and tables) and preserves it
// the way the "iommu: Add live update state preservation" series does: units
// and domains on first use, objects appended to one-page arrays (a new page
// when one is full), deleted objects left in place and flagged, the IOMMU FLB
// entry named for the ABI.
//
// PASID policy (the review of v2 11/16, ../shared/seed): under kNoPasidOnly,
// preserving a device that has any PASID other than IOMMU_NO_PASID in use
// fails with FailedPrecondition and changes nothing (no live entry is ever
// cleared); once a device is preserved, new PASID attachments are refused
// until it is unpreserved. Under kAllPresent every present table is handed
// over.
//
// Example:
//   HandoffBuilder b;
//   IommuPreserver iommu(&b, {IommuAbi::kB});
//   int unit = iommu.AddIntelUnit(0xfed90000);
//   int dom = iommu.AddDomain(unit, 4);
//   int dev = iommu.AddDevice(unit, 0, 0x00, 0x10, 1u << 20);
//   iommu.Attach(dev, dom);                 // PASID 0 (requests without PASID)
//   iommu.PreserveDevice(dev);
//   iommu.Finish();
//   absl::StatusOr<HandoffModel> m = std::move(b).Finish();
#ifndef KHOABI_LIB_IOMMU_PRESERVER_H_
#define KHOABI_LIB_IOMMU_PRESERVER_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "lib/handoff_builder.h"
#include "lib/iommu_model.h"
#include "lib/options.h"

namespace khoabi {

class IommuPreserver {
 public:
  struct Config {
    IommuAbi abi = IommuAbi::kB;
    PasidPolicy policy = PasidPolicy::kAbiDefault;  // A: kNoPasidOnly, B: kAllPresent
  };

  // REQUIRES: `builder` outlives this object; call Finish before the
  // builder's Finish.
  IommuPreserver(HandoffBuilder* builder, const Config& config);

  // --- The running kernel ---------------------------------------------------
  // AddIntelUnit: a VT-d unit with its register base; `scalable` units have
  // PASID tables. Returns a handle.
  int AddIntelUnit(uint64_t reg_base, bool scalable = true);
  // AddSmmuV3Unit: an Arm SMMUv3 (ABI B only).
  int AddSmmuV3Unit(uint64_t reg_base);
  // AddDomain: a paging domain with `levels` (3-5) of page tables.
  int AddDomain(int unit, int levels = 4);
  // AddDevice: PCI device segment:bus:devfn behind `unit`, supporting
  // `max_pasid` PASIDs (0 for none); its PASID directory is sized and rounded
  // as intel_pasid_alloc_table() does.
  int AddDevice(int unit, uint32_t segment, uint8_t bus, uint8_t devfn, uint32_t max_pasid = 0);
  // Attach programs `pasid` of `device` for `domain` (second-level
  // translation). PASID 0 is the device's requests without PASID.
  absl::Status Attach(int device, int domain, uint32_t pasid = 0);
  absl::Status Detach(int device, uint32_t pasid);
  // PasidsInUse lists the attached PASIDs of a device.
  std::vector<uint32_t> PasidsInUse(int device) const;

  // --- Live update ----------------------------------------------------------
  // PreserveDevice preserves the device (and its unit and domain on first
  // use) under the policy. FailedPrecondition, changing nothing, when the
  // policy forbids it or the device is not attached.
  absl::Status PreserveDevice(int device);
  // UnpreserveDevice flags the device's record DELETED and unpreserves its
  // PASID structures.
  absl::Status UnpreserveDevice(int device);
  // Finish writes the model and the IOMMU FLB entry into the builder.
  absl::Status Finish();

  PasidPolicy policy() const { return policy_; }

 private:
  struct Unit {
    uint64_t type = 0;
    uint64_t reg_base = 0;
    bool scalable = false;
    uint64_t root_table = 0;
    int slot = -1;          // index in the unit array once preserved
    uint16_t next_did = 2;  // IDA_START_DID
  };
  struct Domain {
    int levels = 4;
    uint64_t top_table = 0;
    std::map<int, uint16_t> did;  // per unit
    int slot = -1;
  };
  struct Device {
    int unit = 0;
    uint32_t segment = 0;
    uint16_t devid = 0;
    uint64_t max_pasid = 0;  // stored (rounded) value; 0 without a directory
    uint64_t dir = 0;        // PA of the directory
    unsigned dir_order = 0;
    std::map<uint32_t, uint64_t> tables;      // dir index -> table PA
    std::map<uint32_t, pasid_entry> entries;  // pasid -> entry
    std::map<uint32_t, int> attached;         // pasid -> domain
    bool preserved = false;
    int slot = -1;
    std::vector<std::pair<uint64_t, unsigned>> preserved_folios;
  };

  bool Valid(int handle, size_t n) const { return handle >= 0 && static_cast<size_t>(handle) < n; }
  absl::Status PreserveUnit(int unit);
  absl::Status PreserveDomain(int domain);
  uint16_t DomainId(int domain, int unit);
  pasid_entry SecondLevelEntry(const Domain& d, uint16_t did) const;
  std::string DeviceName(const Device& d) const;
  void Start();

  HandoffBuilder* builder_;
  IommuAbi abi_;
  PasidPolicy policy_;
  std::vector<Unit> units_;
  std::vector<Domain> domains_;
  std::vector<Device> devices_;
  IommuModel model_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace khoabi

#endif  // KHOABI_LIB_IOMMU_PRESERVER_H_
