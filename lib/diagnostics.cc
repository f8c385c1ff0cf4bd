#include "lib/diagnostics.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace khoabi {

void Path::Format(char* buf, size_t size) const {
  // By hand, not snprintf per segment: a rejection may format up to
  // max_problems paths, and this was most of the cost of reporting.
  if (size == 0) return;
  size_t used = 0;
  auto put = [&](const char* s, size_t n) {
    const size_t room = size - 1 - used;
    const size_t take = n < room ? n : room;
    std::memcpy(buf + used, s, take);
    used += take;
  };
  for (int i = 0; i < depth_ && used + 1 < size; ++i) {
    const Segment& s = segments_[i];
    if (i > 0) put(".", 1);
    put(s.name, std::strlen(s.name));
    if (s.index == kNoIndex) continue;
    char digits[24];
    size_t n = sizeof digits;
    digits[--n] = ']';
    uint64_t v = s.index;
    do {
      digits[--n] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    digits[--n] = '[';
    put(digits + n, sizeof digits - n);
  }
  buf[used] = '\0';
}

std::string Path::ToString() const {
  char buf[256];
  Format(buf, sizeof buf);
  return buf;
}

std::string Problem::ToString() const {
  std::string out = absl::StrCat(SeverityName(severity), ": ", ReasonName(reason));
  if (path[0] != '\0') absl::StrAppend(&out, " at ", path);
  if (pa != kNoPa) absl::StrAppend(&out, absl::StrFormat(" (pa %#x)", pa));
  if (detail[0] != '\0') absl::StrAppend(&out, ": ", detail);
  return out;
}

void Diagnostics::Reset(const Options& options) {
  problems_.clear();
  max_problems_ = options.max_problems == 0 ? 1 : options.max_problems;
  problems_.reserve(max_problems_);
  strict_ = options.strict;
  stop_at_first_error_ = options.stop_at_first_error;
  errors_ = warnings_ = dropped_ = 0;
}

bool Diagnostics::Report(Reason reason, const Path& path, uint64_t pa, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const bool error = ReportV(reason, path, pa, fmt, ap);
  va_end(ap);
  return error;
}

#ifdef KHOABI_MUTANT_REASON
// Test-only: fuzz/mutants.sh builds the fuzz targets with
// -DKHOABI_MUTANT_REASON=<reason name> (for this file only) to measure the
// fuzz oracles. Problems of that one reason are dropped as if their check
// were gone: not counted, not kept, and never an error, so the decoder goes
// on as it does when the check passes. Never set in a real build.
#define KHOABI_STRINGIFY2(x) #x
#define KHOABI_STRINGIFY(x) KHOABI_STRINGIFY2(x)
namespace {
bool IsMutantReason(Reason reason) {
  static const std::optional<Reason> mutant =
      ReasonFromName(KHOABI_STRINGIFY(KHOABI_MUTANT_REASON));
  return mutant.has_value() && *mutant == reason;
}
}  // namespace
#endif

bool Diagnostics::ReportV(Reason reason, const Path& path, uint64_t pa, const char* fmt,
                          va_list ap) {
#ifdef KHOABI_MUTANT_REASON
  if (IsMutantReason(reason)) return false;
#endif
  Severity sev = GetReasonInfo(reason).severity;
  if (sev == Severity::kStrict) sev = strict_ ? Severity::kError : Severity::kWarning;
  const bool error = sev == Severity::kError;
  if (error) {
    ++errors_;
  } else {
    ++warnings_;
  }
  if (problems_.size() >= max_problems_) {
    // Full. Only the first error may still get in, in place of the last
    // warning: the verdict must always be explainable.
    if (!error || errors_ != 1 || problems_.back().is_error()) {
      ++dropped_;
      return error;
    }
    problems_.pop_back();
    ++dropped_;
  }
  problems_.emplace_back();
  Problem& p = problems_.back();
  p.reason = reason;
  p.severity = sev;
  p.pa = pa;
  path.Format(p.path, sizeof p.path);
  p.detail[0] = '\0';
  if (fmt != nullptr) std::vsnprintf(p.detail, sizeof p.detail, fmt, ap);
  return error;
}

const Problem* Diagnostics::first_error() const {
  for (const Problem& p : problems_) {
    if (p.is_error()) return &p;
  }
  return nullptr;
}

bool Diagnostics::Has(Reason r) const {
  for (const Problem& p : problems_) {
    if (p.reason == r) return true;
  }
  return false;
}

absl::Status Diagnostics::ToStatus() const {
  const Problem* p = first_error();
  if (p == nullptr) {
    if (errors_ == 0) return absl::OkStatus();
    return absl::InternalError("errors were counted but none was kept");
  }
  absl::Status s(GetReasonInfo(p->reason).code, p->ToString());
  s.SetPayload(kReasonPayloadUrl, absl::Cord(ReasonName(p->reason)));
  return s;
}

std::optional<Reason> ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return ReasonFromName(std::string(*payload));
}

}  // namespace khoabi
