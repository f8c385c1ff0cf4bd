/* abigail probe: the records of ABI version kho-v2. */
#include "abi/kexec_handover.h"

struct khoabi_kho_v2_records {
  struct kho_radix_node node;
  struct kho_radix_leaf leaf;
};

void khoabi_abi_kho_v2(const struct khoabi_kho_v2_records *records) { (void)records; }
