// The main target: a whole handoff image as an ELF core file, read and
// decoded from the KHO root as a restoring kernel would. Glue only (glue.h).
#include "fuzz/glue.h"

KHOABI_STRUCTURED_FUZZ_TARGET(kHandoff)
