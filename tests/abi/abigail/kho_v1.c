/* abigail probe: the records of ABI version kho-v1, reachable from one exported
 * function so that abidw describes them. See tests/abi/abigail_test.sh. */
#include "abi/kexec_handover.h"

struct khoabi_kho_v1_records {
  struct khoser_mem_chunk_hdr chunk_hdr;
  struct khoser_mem_bitmap_ptr bitmap_ptr;
  struct khoser_mem_chunk chunk;
};

void khoabi_abi_kho_v1(const struct khoabi_kho_v1_records *records) { (void)records; }
