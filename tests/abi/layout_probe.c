/* Declares one object of every struct the ABI headers define, so that the
 * compiler's DWARF (read by pahole in abi_dwarf_test) describes each of them.
 * Kept by hand on purpose: abi_dwarf_test checks that this list, the headers'
 * struct definitions and the layout manifest name the same structs. */
#include "abi/iommu.h"
#include "abi/kexec_handover.h"
#include "abi/luo.h"
#include "abi/vtd_pasid.h"

struct khoser_mem_chunk_hdr probe_khoser_mem_chunk_hdr;
struct khoser_mem_bitmap_ptr probe_khoser_mem_bitmap_ptr;
struct khoser_mem_chunk probe_khoser_mem_chunk;
struct kho_radix_node probe_kho_radix_node;
struct kho_radix_leaf probe_kho_radix_leaf;
struct luo_flb_header_ser probe_luo_flb_header_ser;
struct luo_flb_ser probe_luo_flb_ser;
struct iommu_hdr_ser probe_iommu_hdr_ser;
struct iommu_array_hdr_ser probe_iommu_array_hdr_ser;
struct iommu_dev_map_ser probe_iommu_dev_map_ser;
struct iommu_intel_ser probe_iommu_intel_ser;
struct iommu_flb_ser_a probe_iommu_flb_ser_a;
struct iommu_domain_ser_a probe_iommu_domain_ser_a;
struct iommu_device_intel_ser_a probe_iommu_device_intel_ser_a;
struct iommu_device_ser_a probe_iommu_device_ser_a;
struct iommu_hw_ser_a probe_iommu_hw_ser_a;
struct iommu_flb_ser_b probe_iommu_flb_ser_b;
struct iommu_domain_ser_b probe_iommu_domain_ser_b;
struct iommu_device_intel_ser_b probe_iommu_device_intel_ser_b;
struct iommu_master_smmuv3_ser probe_iommu_master_smmuv3_ser;
struct iommu_device_ser_b probe_iommu_device_ser_b;
struct iommu_smmuv3_hw_ser probe_iommu_smmuv3_hw_ser;
struct iommu_hw_ser_b probe_iommu_hw_ser_b;
struct pasid_dir_entry probe_pasid_dir_entry;
struct pasid_entry probe_pasid_entry;
