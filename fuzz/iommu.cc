// iommu_flb_ser and the IOMMU array list pages of a valid handoff, decoded
// from the root. Glue only (glue.h).
#include "fuzz/glue.h"

KHOABI_STRUCTURED_FUZZ_TARGET(kIommu)
