// reason.h: the closed list of reasons a handoff is rejected or warned about.
//
// Every problem the decoders find carries a Reason: a stable name (never message
// text), the absl::StatusCode it maps to, and a default severity. The list and
// the documentation of each reason live in one place, reasons.inc.
//
// Example:
//   const ReasonInfo& info = GetReasonInfo(Reason::kClaimTwice);
//   std::cout << info.name << ": " << info.summary << "\n";
#ifndef KHOABI_LIB_REASON_H_
#define KHOABI_LIB_REASON_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace khoabi {

enum class Severity : uint8_t {
  kWarning = 0,  // reported, never rejects
  kStrict = 1,   // rejects unless Options::strict is false
  kError = 2,    // rejects
};

absl::string_view SeverityName(Severity s);

enum class Reason : uint16_t {
#define KHOABI_REASON(id, name, code, severity, summary, guards, fix) id,
#include "lib/reasons.inc"
#undef KHOABI_REASON
};

struct ReasonInfo {
  Reason reason;
  const char* name;       // stable, snake_case
  absl::StatusCode code;  // kDataLoss, kResourceExhausted, kUnimplemented, ...
  Severity severity;      // default severity
  const char* summary;    // what it means
  const char* guards;     // the kernel behaviour it guards against
  const char* fix;        // how to fix the producer
};

// GetReasonInfo returns the documentation of `r`.
const ReasonInfo& GetReasonInfo(Reason r);

// ReasonName returns the stable name of `r`, e.g. "claim_twice".
absl::string_view ReasonName(Reason r);

// ReasonFromName returns the reason with that stable name, if any.
std::optional<Reason> ReasonFromName(absl::string_view name);

// AllReasons lists every reason in declaration order.
absl::Span<const ReasonInfo> AllReasons();

}  // namespace khoabi

#endif  // KHOABI_LIB_REASON_H_
