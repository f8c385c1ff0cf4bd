// The ELF core file reader alone (ReadElfImage). Glue only (glue.h).
#include "fuzz/glue.h"

KHOABI_STRUCTURED_FUZZ_TARGET(kElfReader)
