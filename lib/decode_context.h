// decode_context.h: what every layer's decoder works with. Internal to //lib;
// callers use decoder.h.
#ifndef KHOABI_LIB_DECODE_CONTEXT_H_
#define KHOABI_LIB_DECODE_CONTEXT_H_

#include <cstdarg>

#include "absl/base/attributes.h"
#include "lib/diagnostics.h"
#include "lib/image.h"
#include "lib/options.h"
#include "lib/preserved_memory.h"

namespace khoabi {

struct DecodeScratch;  // decode_scratch.h

struct DecodeContext {
  const ImageReader& reader;
  const Options& options;
  Path& path;
  Diagnostics& diag;
  WorkMeter& work;
  PreservedMemory& memory;
  // Working storage kept between decodes (decode_scratch.h); null when the
  // caller keeps none: each layer then uses its own for the call.
  DecodeScratch* scratch = nullptr;

  // Report at the current path.
  bool Report(Reason reason, uint64_t pa, const char* fmt = nullptr, ...)
      ABSL_PRINTF_ATTRIBUTE(4, 5) {
    va_list ap;
    va_start(ap, fmt);
    const bool error = diag.ReportV(reason, path, pa, fmt, ap);
    va_end(ap);
    return error;
  }
  bool Charge(uint64_t units) { return work.Charge(units, path, diag); }
  bool stop() const { return diag.ShouldStop() || work.exceeded(); }
};

}  // namespace khoabi

#endif  // KHOABI_LIB_DECODE_CONTEXT_H_
