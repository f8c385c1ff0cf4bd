// diagnostics.h: where decoders report problems, without allocating.
//
// A Problem carries the reason, its effective severity, the record path (for
// example "iommu.devices[3].intel.pasid_dir[17]") and the PA or offset
// involved, in fixed-size storage. Diagnostics keeps up to
// Options::max_problems of them in storage reserved up front, so reporting a
// problem never allocates once a Diagnostics has been used.
//
// Example:
//   Path path;
//   Path::Scope s = path.Enter("luo");
//   diag.Report(Reason::kZeroPa, path, pa, "luo-flb-header is 0");
#ifndef KHOABI_LIB_DIAGNOSTICS_H_
#define KHOABI_LIB_DIAGNOSTICS_H_

#include <cstdarg>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "lib/options.h"
#include "lib/reason.h"

namespace khoabi {

// Path: the record path of what is being decoded, as a stack of segments. A
// segment is a static name with an optional index. Formatting is deferred
// until a problem is reported, so entering and leaving scopes is two stores.
class Path {
 public:
  static constexpr int kMaxDepth = 14;

  class Scope {
   public:
    explicit Scope(Path* p) : path_(p) {}
    Scope(Scope&& o) noexcept : path_(o.path_) { o.path_ = nullptr; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope() {
      if (path_ != nullptr) path_->Pop();
    }

   private:
    Path* path_;
  };

  // Enter pushes `name` (a string literal); the Scope pops it.
  ABSL_MUST_USE_RESULT Scope Enter(const char* name) {
    Push(name, kNoIndex);
    return Scope(this);
  }
  // Enter pushes `name[index]`.
  ABSL_MUST_USE_RESULT Scope Enter(const char* name, uint64_t index) {
    Push(name, index);
    return Scope(this);
  }

  // Push and Pop run for every record a decoder enters: inline.
  void Push(const char* name, uint64_t index) {
    if (depth_ < kMaxDepth) {
      segments_[depth_++] = Segment{name, index};
    } else {
      ++overflow_;
    }
  }
  void Pop() {
    if (overflow_ > 0) {
      --overflow_;
    } else if (depth_ > 0) {
      --depth_;
    }
  }
  int depth() const { return depth_; }

  // Format writes the path, NUL-terminated, truncating to `size`.
  void Format(char* buf, size_t size) const;
  std::string ToString() const;

  static constexpr uint64_t kNoIndex = ~0ull;

 private:
  struct Segment {
    const char* name;
    uint64_t index;
  };
  Segment segments_[kMaxDepth];
  int depth_ = 0;
  int overflow_ = 0;  // pushes beyond kMaxDepth, not stored
};

// No PA applies to the problem.
inline constexpr uint64_t kNoPa = ~0ull;

struct Problem {
  Reason reason;
  Severity severity;  // effective: kStrict is resolved to kError or kWarning
  uint64_t pa;        // PA (or file offset, for ELF reasons), kNoPa if none
  char path[120];
  char detail[120];

  bool is_error() const { return severity == Severity::kError; }
  // ToString: "error: claim_twice at iommu.devices[2].domain (pa 0x1000): detail".
  std::string ToString() const;
};

class Diagnostics {
 public:
  Diagnostics() = default;
  explicit Diagnostics(const Options& options) { Reset(options); }

  // Reset forgets all problems; keeps the storage.
  void Reset(const Options& options);

  // Report records a problem and returns true if it is an error (after the
  // strictness of Options). `fmt` (printf-style, may be null) adds detail.
  bool Report(Reason reason, const Path& path, uint64_t pa, const char* fmt = nullptr, ...)
      ABSL_PRINTF_ATTRIBUTE(5, 6);
  bool ReportV(Reason reason, const Path& path, uint64_t pa, const char* fmt, va_list ap)
      ABSL_PRINTF_ATTRIBUTE(5, 0);

  // ShouldStop: the caller asked to stop at the first error and one happened.
  bool ShouldStop() const { return stop_at_first_error_ && errors_ != 0; }

  bool ok() const { return errors_ == 0; }
  uint64_t errors() const { return errors_; }
  uint64_t warnings() const { return warnings_; }
  // Problems reported beyond max_problems (counted, not kept).
  uint64_t dropped() const { return dropped_; }
  absl::Span<const Problem> problems() const { return problems_; }
  const Problem* first_error() const;
  bool Has(Reason r) const;

  // ToStatus: OK, or the first error as a status with the reason's code, the
  // message "<reason>: <path> (pa ...): <detail>" and the reason name as the
  // payload kReasonPayloadUrl. Allocates; call it at API boundaries only.
  absl::Status ToStatus() const;

 private:
  std::vector<Problem> problems_;
  size_t max_problems_ = 64;
  bool strict_ = true;
  bool stop_at_first_error_ = false;
  uint64_t errors_ = 0;
  uint64_t warnings_ = 0;
  uint64_t dropped_ = 0;
};

// WorkMeter: counts work units against the budget of Options::max_work.
class WorkMeter {
 public:
  void Reset(uint64_t budget) {
    budget_ = budget;
    used_ = 0;
    exceeded_ = false;
  }
  // Charge adds `units` if they fit the budget. Otherwise it returns false
  // (the caller must not do that work), and the first time reports
  // limit_work at `path`. So used() never exceeds budget().
  bool Charge(uint64_t units, const Path& path, Diagnostics& diag) {
    if (!exceeded_ && units <= budget_ - used_) {
      used_ += units;
      return true;
    }
    if (!exceeded_) {
      exceeded_ = true;
      diag.Report(Reason::kLimitWork, path, kNoPa, "more than %llu work units",
                  static_cast<unsigned long long>(budget_));
    }
    return false;
  }
  bool exceeded() const { return exceeded_; }
  uint64_t used() const { return used_; }
  uint64_t budget() const { return budget_; }

 private:
  uint64_t budget_ = ~0ull;
  uint64_t used_ = 0;
  bool exceeded_ = false;
};

inline constexpr char kReasonPayloadUrl[] = "type.khoabi.dev/reason";

// ReasonOf returns the reason carried by a status from Diagnostics::ToStatus.
std::optional<Reason> ReasonOf(const absl::Status& status);

}  // namespace khoabi

#endif  // KHOABI_LIB_DIAGNOSTICS_H_
