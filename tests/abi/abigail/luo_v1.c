/* abigail probe: the records of ABI version luo-v1 (LUO FDT, FLB header). */
#include "abi/luo.h"

struct khoabi_luo_v1_records {
  struct luo_flb_header_ser header;
  struct luo_flb_ser flb;
};

void khoabi_abi_luo_v1(const struct khoabi_luo_v1_records *records) { (void)records; }
