/* abigail probe: the records of IOMMU ABI A ("iommu-liveupdate-v1"). */
#include "abi/iommu.h"

struct khoabi_iommu_a_records {
  struct iommu_hdr_ser hdr;
  struct iommu_array_hdr_ser array_hdr;
  struct iommu_dev_map_ser dev_map;
  struct iommu_intel_ser intel;
  struct iommu_flb_ser_a flb;
  struct iommu_domain_ser_a domain;
  struct iommu_device_intel_ser_a device_intel;
  struct iommu_device_ser_a device;
  struct iommu_hw_ser_a hw;
};

void khoabi_abi_iommu_a(const struct khoabi_iommu_a_records *records) { (void)records; }
