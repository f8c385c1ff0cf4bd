#include "lib/reason.h"

namespace khoabi {
namespace {

constexpr ReasonInfo kReasons[] = {
#define KHOABI_REASON(id, name, code, severity, summary, guards, fix) \
  {Reason::id, name, absl::StatusCode::code, Severity::severity, summary, guards, fix},
#include "lib/reasons.inc"
#undef KHOABI_REASON
};

}  // namespace

absl::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kWarning:
      return "warning";
    case Severity::kStrict:
      return "strict";
    case Severity::kError:
      return "error";
  }
  return "?";
}

const ReasonInfo& GetReasonInfo(Reason r) {
  size_t i = static_cast<size_t>(r);
  if (i >= sizeof(kReasons) / sizeof(kReasons[0])) i = static_cast<size_t>(Reason::kInternal);
  return kReasons[i];
}

absl::string_view ReasonName(Reason r) { return GetReasonInfo(r).name; }

std::optional<Reason> ReasonFromName(absl::string_view name) {
  for (const ReasonInfo& info : kReasons) {
    if (name == info.name) return info.reason;
  }
  return std::nullopt;
}

absl::Span<const ReasonInfo> AllReasons() { return absl::MakeConstSpan(kReasons); }

}  // namespace khoabi
