// Diagnostics, Path, Problem and WorkMeter: how every rejection is explained
// (reason, record path, PA) and that reporting never allocates once storage
// is reserved (style.md: "the hot path does not allocate to reject").
#include "lib/diagnostics.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

// --- Allocation counter ------------------------------------------------------
// This binary replaces the global operator new so a test can count the
// allocations made while it has counting switched on.
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void* CountedAlloc(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(size_t n) { return CountedAlloc(n); }
void* operator new[](size_t n) { return CountedAlloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace khoabi {
namespace {

// Counts allocations for as long as it lives.
class AllocationCounter {
 public:
  AllocationCounter() {
    g_allocations = 0;
    g_counting = true;
  }
  ~AllocationCounter() { g_counting = false; }
  long count() const { return g_allocations.load(); }
};

Options WithMaxProblems(size_t n) {
  Options o;
  o.max_problems = n;
  return o;
}

// --- Path ----------------------------------------------------------------

TEST(Path, FormatsNamesAndIndices) {
  Path path;
  EXPECT_EQ(path.ToString(), "");
  Path::Scope a = path.Enter("a");
  Path::Scope b = path.Enter("b", 3);
  Path::Scope c = path.Enter("c");
  EXPECT_EQ(path.ToString(), "a.b[3].c");
  EXPECT_EQ(path.depth(), 3);
}

TEST(Path, IndexZeroAndLargeIndicesAreShown) {
  Path path;
  Path::Scope a = path.Enter("devices", 0);
  Path::Scope b = path.Enter("pa", 0xfffffffffffffffeull);
  EXPECT_EQ(path.ToString(), "devices[0].pa[18446744073709551614]");
}

// What Path::Format printed when it used snprintf per segment.
std::string ReferenceFormat(const std::vector<std::pair<const char*, uint64_t>>& segs,
                            size_t size) {
  std::string all;
  for (size_t i = 0; i < segs.size(); ++i) {
    char one[64];
    if (segs[i].second == Path::kNoIndex) {
      std::snprintf(one, sizeof one, "%s%s", i ? "." : "", segs[i].first);
    } else {
      std::snprintf(one, sizeof one, "%s%s[%llu]", i ? "." : "", segs[i].first,
                    static_cast<unsigned long long>(segs[i].second));
    }
    all += one;
  }
  return all.substr(0, size - 1);
}

TEST(Path, FormatTruncatesToTheBufferAtEverySize) {
  const std::vector<std::pair<const char*, uint64_t>> segs = {
      {"iommu", Path::kNoIndex},         {"devices", 1023},    {"intel", Path::kNoIndex},
      {"pasid_dir", Path::kNoIndex},     {"entry", 16383},     {"table", 0},
      {"pa", 0xffffffffffffffffull - 1}, {"x", Path::kNoIndex}};
  Path path;
  std::vector<Path::Scope> scopes;
  for (const auto& [name, index] : segs) {
    scopes.push_back(index == Path::kNoIndex ? path.Enter(name) : path.Enter(name, index));
  }
  for (size_t size = 1; size < 160; ++size) {
    std::vector<char> buf(size + 1, '#');
    path.Format(buf.data(), size);
    EXPECT_EQ(std::string(buf.data()), ReferenceFormat(segs, size)) << size;
    EXPECT_EQ(buf[size], '#') << "wrote past the buffer at size " << size;
  }
}

TEST(Path, ScopesPopWhatTheyPushed) {
  Path path;
  Path::Scope root = path.Enter("iommu");
  {
    Path::Scope d = path.Enter("devices", 2);
    {
      Path::Scope x = path.Enter("intel");
      EXPECT_EQ(path.ToString(), "iommu.devices[2].intel");
    }
    EXPECT_EQ(path.ToString(), "iommu.devices[2]");
    Path::Scope moved = std::move(d);  // a moved-from scope pops nothing
    EXPECT_EQ(path.ToString(), "iommu.devices[2]");
  }
  EXPECT_EQ(path.ToString(), "iommu");
}

TEST(Path, DeeperThanMaxDepthKeepsThePrefixAndUnwindsExactly) {
  Path path;
  std::vector<Path::Scope> scopes;
  for (int i = 0; i < Path::kMaxDepth + 6; ++i) scopes.push_back(path.Enter("n", i));
  EXPECT_EQ(path.depth(), Path::kMaxDepth);
  std::string want;
  for (int i = 0; i < Path::kMaxDepth; ++i) want += (i ? ".n[" : "n[") + std::to_string(i) + "]";
  EXPECT_EQ(path.ToString(), want);

  // Pops of the unstored segments come first and leave the stored ones.
  for (int i = 0; i < 6; ++i) scopes.pop_back();
  EXPECT_EQ(path.depth(), Path::kMaxDepth);
  EXPECT_EQ(path.ToString(), want);
  scopes.pop_back();
  EXPECT_EQ(path.depth(), Path::kMaxDepth - 1);
  scopes.clear();
  EXPECT_EQ(path.depth(), 0);
  EXPECT_EQ(path.ToString(), "");
  // Popping an empty path is harmless.
  path.Pop();
  EXPECT_EQ(path.depth(), 0);
}

TEST(Path, FormatTruncatesAndTerminates) {
  Path path;
  Path::Scope a = path.Enter("alpha");
  Path::Scope b = path.Enter("beta", 12);
  char buf[8];
  std::memset(buf, 'x', sizeof buf);
  path.Format(buf, sizeof buf);
  EXPECT_EQ(std::string(buf), "alpha.b");
  char one[1] = {'x'};
  path.Format(one, 1);
  EXPECT_EQ(one[0], '\0');
  path.Format(nullptr, 0);  // nothing to write to: must not crash
}

// --- Problem -------------------------------------------------------------

TEST(Problem, ToStringHasSeverityReasonPathPaAndDetail) {
  Diagnostics diag(Options{});
  Path path;
  Path::Scope a = path.Enter("iommu");
  Path::Scope b = path.Enter("devices", 2);
  Path::Scope c = path.Enter("domain");
  diag.Report(Reason::kClaimTwice, path, 0x1000, "order-%u folio", 0u);
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].ToString(),
            "error: claim_twice at iommu.devices[2].domain (pa 0x1000): order-0 folio");
}

TEST(Problem, ToStringLeavesOutWhatIsAbsent) {
  Diagnostics diag(Options{});
  Path empty;
  diag.Report(Reason::kUnclaimedFolio, empty, kNoPa);
  diag.Report(Reason::kUnclaimedFolio, empty, 0);
  ASSERT_EQ(diag.problems().size(), 2u);
  EXPECT_EQ(diag.problems()[0].ToString(), "warning: unclaimed_folio");
  EXPECT_EQ(diag.problems()[1].ToString(), "warning: unclaimed_folio (pa 0)");
}

TEST(Problem, LongPathsAndDetailsAreTruncatedNotOverflowed) {
  Diagnostics diag(Options{});
  Path path;
  const char* long_name = "a_segment_name_that_is_rather_long";
  std::vector<Path::Scope> scopes;
  for (int i = 0; i < Path::kMaxDepth; ++i) scopes.push_back(path.Enter(long_name, i));
  const std::string detail(500, 'd');
  diag.Report(Reason::kZeroPa, path, 1, "%s", detail.c_str());
  const Problem& p = diag.problems()[0];
  EXPECT_EQ(std::strlen(p.path), sizeof p.path - 1);
  EXPECT_EQ(std::string(p.path), path.ToString().substr(0, sizeof p.path - 1));
  EXPECT_EQ(std::string(p.detail), detail.substr(0, sizeof p.detail - 1));
}

// --- Diagnostics ---------------------------------------------------------

TEST(Diagnostics, CountsErrorsAndWarnings) {
  Diagnostics diag(Options{});
  Path path;
  EXPECT_TRUE(diag.ok());
  EXPECT_EQ(diag.first_error(), nullptr);
  EXPECT_FALSE(diag.Report(Reason::kUnclaimedFolio, path, 1));
  EXPECT_TRUE(diag.ok());
  EXPECT_TRUE(diag.Report(Reason::kTrackerOverlap, path, 2));
  EXPECT_FALSE(diag.ok());
  EXPECT_EQ(diag.errors(), 1u);
  EXPECT_EQ(diag.warnings(), 1u);
  ASSERT_NE(diag.first_error(), nullptr);
  EXPECT_EQ(diag.first_error()->reason, Reason::kTrackerOverlap);
  EXPECT_EQ(diag.first_error()->pa, 2u);
  EXPECT_TRUE(diag.Has(Reason::kUnclaimedFolio));
  EXPECT_FALSE(diag.Has(Reason::kClaimTwice));
}

TEST(Diagnostics, StrictReasonsRejectOnlyWhenStrict) {
  Path path;
  Options strict;
  Diagnostics s(strict);
  EXPECT_TRUE(s.Report(Reason::kElfDuplicateKhoNote, path, 0));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.problems()[0].severity, Severity::kError);

  Options lenient;
  lenient.strict = false;
  Diagnostics l(lenient);
  EXPECT_FALSE(l.Report(Reason::kElfDuplicateKhoNote, path, 0));
  EXPECT_TRUE(l.ok());
  EXPECT_EQ(l.warnings(), 1u);
  EXPECT_EQ(l.problems()[0].severity, Severity::kWarning);
  // Errors stay errors, warnings stay warnings.
  EXPECT_TRUE(l.Report(Reason::kClaimTwice, path, 0));
  EXPECT_FALSE(s.Report(Reason::kUnclaimedFolio, path, 0));
}

TEST(Diagnostics, KeepsTheFirstErrorWhenWarningsFillTheStorage) {
  Diagnostics diag(WithMaxProblems(3));
  Path path;
  for (uint64_t i = 0; i < 5; ++i) diag.Report(Reason::kUnclaimedFolio, path, i);
  EXPECT_EQ(diag.problems().size(), 3u);
  EXPECT_EQ(diag.dropped(), 2u);
  diag.Report(Reason::kClaimTwice, path, 100);
  diag.Report(Reason::kClaimWrongOrder, path, 200);  // second error: only counted
  EXPECT_EQ(diag.problems().size(), 3u);
  ASSERT_NE(diag.first_error(), nullptr);
  EXPECT_EQ(diag.first_error()->reason, Reason::kClaimTwice);
  EXPECT_EQ(diag.first_error()->pa, 100u);
  EXPECT_FALSE(diag.Has(Reason::kClaimWrongOrder));
  EXPECT_EQ(diag.errors(), 2u);
  EXPECT_EQ(diag.warnings(), 5u);
  EXPECT_EQ(diag.dropped(), 4u);
  EXPECT_EQ(ReasonOf(diag.ToStatus()), Reason::kClaimTwice);
}

TEST(Diagnostics, MaxProblemsZeroStillKeepsOne) {
  Diagnostics diag(WithMaxProblems(0));
  Path path;
  diag.Report(Reason::kUnclaimedFolio, path, 1);
  diag.Report(Reason::kZeroPa, path, 2);
  ASSERT_EQ(diag.problems().size(), 1u);
  EXPECT_EQ(diag.problems()[0].reason, Reason::kZeroPa);
}

TEST(Diagnostics, ShouldStopOnlyAfterAnErrorWhenAsked) {
  Path path;
  Options stop;
  stop.stop_at_first_error = true;
  Diagnostics d(stop);
  d.Report(Reason::kUnclaimedFolio, path, 1);
  EXPECT_FALSE(d.ShouldStop());
  d.Report(Reason::kZeroPa, path, 1);
  EXPECT_TRUE(d.ShouldStop());

  Diagnostics go_on(Options{});
  go_on.Report(Reason::kZeroPa, path, 1);
  EXPECT_FALSE(go_on.ShouldStop());
}

TEST(Diagnostics, ResetForgetsEverything) {
  Diagnostics diag(Options{});
  Path path;
  diag.Report(Reason::kZeroPa, path, 1);
  diag.Report(Reason::kUnclaimedFolio, path, 1);
  Options lenient;
  lenient.strict = false;
  diag.Reset(lenient);
  EXPECT_TRUE(diag.ok());
  EXPECT_EQ(diag.errors() + diag.warnings() + diag.dropped(), 0u);
  EXPECT_TRUE(diag.problems().empty());
  EXPECT_FALSE(diag.Report(Reason::kUnusedBytesNotZero, path, 1)) << "new options apply";
}

TEST(Diagnostics, ToStatusCarriesCodeMessageAndReason) {
  struct Case {
    Reason reason;
    absl::StatusCode code;
  };
  // Codes as style.md assigns them: corrupt data, limits, unsupported versions.
  for (const Case& c : {Case{Reason::kClaimTwice, absl::StatusCode::kDataLoss},
                        Case{Reason::kLimitWork, absl::StatusCode::kResourceExhausted},
                        Case{Reason::kUnknownCompatible, absl::StatusCode::kUnimplemented},
                        Case{Reason::kInvalidArgument, absl::StatusCode::kInvalidArgument},
                        Case{Reason::kInternal, absl::StatusCode::kInternal}}) {
    Diagnostics diag(Options{});
    Path path;
    Path::Scope s = path.Enter("luo");
    diag.Report(Reason::kUnclaimedFolio, path, 5);
    diag.Report(c.reason, path, 0x2000, "why");
    absl::Status status = diag.ToStatus();
    EXPECT_EQ(status.code(), c.code) << ReasonName(c.reason);
    EXPECT_EQ(ReasonOf(status), c.reason);
    EXPECT_NE(status.message().find(std::string(ReasonName(c.reason))), absl::string_view::npos);
    EXPECT_NE(status.message().find("luo"), absl::string_view::npos);
    EXPECT_NE(status.message().find("0x2000"), absl::string_view::npos);
  }
}

TEST(Diagnostics, ToStatusIsOkWithWarningsOnly) {
  Diagnostics diag(Options{});
  Path path;
  diag.Report(Reason::kUnclaimedFolio, path, 5);
  EXPECT_TRUE(diag.ToStatus().ok());
}

TEST(ReasonOf, NeedsTheReasonPayload) {
  EXPECT_EQ(ReasonOf(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(ReasonOf(absl::DataLossError("claim_twice")), std::nullopt);
  absl::Status bogus = absl::DataLossError("x");
  bogus.SetPayload(kReasonPayloadUrl, absl::Cord("no_such_reason"));
  EXPECT_EQ(ReasonOf(bogus), std::nullopt);
  absl::Status good = absl::DataLossError("x");
  good.SetPayload(kReasonPayloadUrl, absl::Cord("claim_twice"));
  EXPECT_EQ(ReasonOf(good), Reason::kClaimTwice);
}

// --- No allocation on the reporting path ----------------------------------

TEST(Diagnostics, ReportingDoesNotAllocateAfterReset) {
  Options options = WithMaxProblems(8);
  options.strict = false;
  Diagnostics diag;
  diag.Reset(options);
  Path path;
  std::vector<Path::Scope> scopes;
  for (int i = 0; i < Path::kMaxDepth + 2; ++i) scopes.push_back(path.Enter("level", i));
  const std::string detail(300, 'x');

  long allocations;
  {
    AllocationCounter counter;
    for (uint64_t i = 0; i < 40; ++i) {
      diag.Report(Reason::kUnclaimedFolio, path, i, "folio %llu of order %u: %s",
                  static_cast<unsigned long long>(i), 3u, detail.c_str());
      diag.Report(Reason::kUnusedBytesNotZero, path, i);  // strict, as a warning
    }
    diag.Report(Reason::kClaimTwice, path, 1, "first error");  // replaces a warning
    diag.Report(Reason::kZeroPa, path, 2);                     // dropped
    (void)diag.ok();
    (void)diag.Has(Reason::kClaimTwice);
    (void)diag.first_error();
    (void)diag.ShouldStop();
    WorkMeter work;
    work.Reset(10);
    work.Charge(20, path, diag);
    allocations = counter.count();
  }
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(diag.problems().size(), 8u);
  ASSERT_NE(diag.first_error(), nullptr);
  EXPECT_EQ(diag.first_error()->reason, Reason::kClaimTwice);

  // The same again after a Reset: the storage is kept.
  diag.Reset(options);
  {
    AllocationCounter counter;
    for (uint64_t i = 0; i < 20; ++i) diag.Report(Reason::kTrackerOverlap, path, i);
    allocations = counter.count();
  }
  EXPECT_EQ(allocations, 0);
}

TEST(Diagnostics, AllocationCounterSeesAllocations) {
  // The counter itself must be able to fail the test above.
  long allocations;
  {
    AllocationCounter counter;
    void* p = ::operator new(16);
    ::operator delete(p);
    Diagnostics fresh;  // no Reset: storage is reserved on first use
    Path path;
    fresh.Report(Reason::kZeroPa, path, 1);
    allocations = counter.count();
  }
  EXPECT_GE(allocations, 2);
}

// --- WorkMeter -----------------------------------------------------------

TEST(WorkMeter, ReportsLimitWorkOnceWhenTheBudgetIsExceeded) {
  Diagnostics diag(Options{});
  Path path;
  Path::Scope s = path.Enter("tracker");
  WorkMeter work;
  work.Reset(100);
  EXPECT_TRUE(work.Charge(60, path, diag));
  EXPECT_TRUE(work.Charge(40, path, diag));  // exactly the budget
  EXPECT_FALSE(work.exceeded());
  EXPECT_TRUE(diag.ok());
  EXPECT_FALSE(work.Charge(1, path, diag));
  EXPECT_FALSE(work.Charge(1, path, diag));
  EXPECT_TRUE(work.exceeded());
  EXPECT_EQ(work.used(), 100u);  // work refused is not done, so never counted
  EXPECT_EQ(work.budget(), 100u);
  EXPECT_EQ(diag.errors(), 1u);
  ASSERT_NE(diag.first_error(), nullptr);
  EXPECT_EQ(diag.first_error()->reason, Reason::kLimitWork);
  EXPECT_STREQ(diag.first_error()->path, "tracker");

  work.Reset(5);
  EXPECT_FALSE(work.exceeded());
  EXPECT_EQ(work.used(), 0u);
}

}  // namespace
}  // namespace khoabi
