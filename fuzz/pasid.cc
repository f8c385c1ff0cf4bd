// The VT-d PASID directories and tables of a valid handoff, decoded from the
// root. Glue only (glue.h).
#include "fuzz/glue.h"

KHOABI_STRUCTURED_FUZZ_TARGET(kPasid)
