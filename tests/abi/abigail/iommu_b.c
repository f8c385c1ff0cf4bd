/* abigail probe: the records of IOMMU ABI B ("iommu-liveupdate" version 1). */
#include "abi/iommu.h"

struct khoabi_iommu_b_records {
  struct iommu_hdr_ser hdr;
  struct iommu_array_hdr_ser array_hdr;
  struct iommu_dev_map_ser dev_map;
  struct iommu_intel_ser intel;
  struct iommu_flb_ser_b flb;
  struct iommu_domain_ser_b domain;
  struct iommu_device_intel_ser_b device_intel;
  struct iommu_master_smmuv3_ser master_smmuv3;
  struct iommu_device_ser_b device;
  struct iommu_smmuv3_hw_ser smmuv3_hw;
  struct iommu_hw_ser_b hw;
};

void khoabi_abi_iommu_b(const struct khoabi_iommu_b_records *records) { (void)records; }
