// The KHO root FDT, LUO FDT and FLB header pages of a valid handoff, decoded
// from the root. Glue only (glue.h).
#include "fuzz/glue.h"

KHOABI_STRUCTURED_FUZZ_TARGET(kFdt)
