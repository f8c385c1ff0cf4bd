/* abigail probe: the VT-d PASID directory and table entries. */
#include "abi/vtd_pasid.h"

struct khoabi_vtd_pasid_records {
  struct pasid_dir_entry dir_entry;
  struct pasid_entry entry;
};

void khoabi_abi_vtd_pasid(const struct khoabi_vtd_pasid_records *records) { (void)records; }
