// The preserved-memory tracker pages of a valid handoff (kho-v1 chunks and
// bitmaps, kho-v2 radix tree), decoded from the root. Glue only (glue.h).
#include "fuzz/glue.h"

KHOABI_STRUCTURED_FUZZ_TARGET(kTracker)
