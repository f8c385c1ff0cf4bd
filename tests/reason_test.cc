// The closed list of reasons (reasons.inc): names are an interface (tools and
// users match on them), so they must be unique, stable-looking snake_case,
// documented, and findable by name. Severities and codes follow the spec's
// "Resolved details" and style.md's code mapping.
#include "lib/reason.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace khoabi {
namespace {

bool IsSnakeCase(absl::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z') || s.back() == '_') return false;
  char prev = 0;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok || (c == '_' && prev == '_')) return false;
    prev = c;
  }
  return true;
}

TEST(Reason, TheListIsNotEmptyAndIndexedByEnum) {
  absl::Span<const ReasonInfo> all = AllReasons();
  ASSERT_GT(all.size(), 40u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(all[i].reason), i) << all[i].name;
    EXPECT_EQ(&GetReasonInfo(all[i].reason), &all[i]) << all[i].name;
  }
}

TEST(Reason, EveryNameIsUniqueSnakeCase) {
  std::set<std::string> seen;
  for (const ReasonInfo& info : AllReasons()) {
    ASSERT_NE(info.name, nullptr);
    EXPECT_TRUE(IsSnakeCase(info.name)) << info.name;
    EXPECT_TRUE(seen.insert(info.name).second) << "duplicate name " << info.name;
    EXPECT_EQ(ReasonName(info.reason), info.name);
  }
}

TEST(Reason, EveryReasonIsDocumented) {
  for (const ReasonInfo& info : AllReasons()) {
    ASSERT_NE(info.summary, nullptr);
    ASSERT_NE(info.guards, nullptr);
    ASSERT_NE(info.fix, nullptr);
    EXPECT_GT(std::strlen(info.summary), 10u) << info.name;
    EXPECT_GT(std::strlen(info.guards), 5u) << info.name;
    EXPECT_GT(std::strlen(info.fix), 5u) << info.name;
  }
}

TEST(Reason, FromNameRoundTrips) {
  for (const ReasonInfo& info : AllReasons()) {
    EXPECT_EQ(ReasonFromName(info.name), info.reason) << info.name;
  }
  EXPECT_EQ(ReasonFromName(""), std::nullopt);
  EXPECT_EQ(ReasonFromName("Claim_Twice"), std::nullopt);
  EXPECT_EQ(ReasonFromName("claim_twice "), std::nullopt);
  EXPECT_EQ(ReasonFromName("claim"), std::nullopt);
  EXPECT_EQ(ReasonFromName(absl::string_view("claim_twice\0", 12)), std::nullopt);
}

TEST(Reason, OutOfRangeValuesMapToInternal) {
  const Reason bogus = static_cast<Reason>(0xffff);
  EXPECT_EQ(GetReasonInfo(bogus).reason, Reason::kInternal);
  EXPECT_EQ(ReasonName(bogus), "internal_error");
}

TEST(Reason, CodesFollowTheStyleGuide) {
  const std::set<absl::StatusCode> allowed = {
      absl::StatusCode::kDataLoss, absl::StatusCode::kResourceExhausted,
      absl::StatusCode::kUnimplemented, absl::StatusCode::kInvalidArgument,
      absl::StatusCode::kInternal};
  for (const ReasonInfo& info : AllReasons()) {
    EXPECT_EQ(allowed.count(info.code), 1u) << info.name;
    const bool is_limit = absl::string_view(info.name).substr(0, 6) == "limit_";
    EXPECT_EQ(is_limit, info.code == absl::StatusCode::kResourceExhausted) << info.name;
    if (is_limit) EXPECT_EQ(info.severity, Severity::kError) << info.name;
  }
  EXPECT_EQ(GetReasonInfo(Reason::kUnknownCompatible).code, absl::StatusCode::kUnimplemented);
  EXPECT_EQ(GetReasonInfo(Reason::kIommuBadVersion).code, absl::StatusCode::kUnimplemented);
  EXPECT_EQ(GetReasonInfo(Reason::kInternal).code, absl::StatusCode::kInternal);
  EXPECT_EQ(GetReasonInfo(Reason::kInvalidArgument).code, absl::StatusCode::kInvalidArgument);
}

// Severities the spec (validation.md, "Resolved details") decides.
TEST(Reason, SeveritiesMatchTheSpec) {
  struct Case {
    Reason reason;
    Severity severity;
  };
  const Case cases[] = {
      // "a second [KHO note] is strict"
      {Reason::kElfDuplicateKhoNote, Severity::kStrict},
      // "A compatible value without its NUL is strict"
      {Reason::kFdtUnterminatedString, Severity::kStrict},
      // "Padding and unused bits ...: strict"
      {Reason::kIommuReservedNotZero, Severity::kStrict},
      // "PASID entry qwords 3-7 non-zero: strict"
      {Reason::kPasidEntryHighQwords, Severity::kStrict},
      // "An entry count of 0 is a warning"
      {Reason::kFlbZeroCount, Severity::kWarning},
      // "A preserved folio outside the image is a warning, unless something claims it (error)"
      {Reason::kFolioOutsideImage, Severity::kWarning},
      {Reason::kClaimOutsideImage, Severity::kError},
      // "the folios they preserved show up as unclaimed (warning)"
      {Reason::kUnclaimedFolio, Severity::kWarning},
      // "a page that is not the last but not full is a warning"
      {Reason::kIommuPageNotFull, Severity::kWarning},
      // "ref_count ... Mismatches are warnings"
      {Reason::kIommuRefCountMismatch, Severity::kWarning},
      // "token equals phys_addr; a difference is a warning"
      {Reason::kIommuTokenMismatch, Severity::kWarning},
      // "phys_addr inside the image is a warning"
      {Reason::kIommuMmioInImage, Severity::kWarning},
      // "devid or attachment_id above 16 bits: warning"
      {Reason::kIommuIdTooWide, Severity::kWarning},
      {Reason::kIommuContextBitmapSet, Severity::kWarning},
      // "A non-present directory or PASID entry with other bits set is a warning"
      {Reason::kPasidDirEntryStale, Severity::kWarning},
      {Reason::kPasidEntryStale, Severity::kWarning},
      // "PASID 0 against its domain ...: warnings"
      {Reason::kPasid0DidMismatch, Severity::kWarning},
      {Reason::kPasid0PointerMismatch, Severity::kWarning},
      {Reason::kPasid0AwMismatch, Severity::kWarning},
      // Errors the spec names as such.
      {Reason::kFlbNameUnterminated, Severity::kError},
      {Reason::kFlbNoIommuEntry, Severity::kError},
      {Reason::kFlbAmbiguousIommu, Severity::kError},
      {Reason::kFlbBadPageCount, Severity::kError},
      {Reason::kTrackerOverlap, Severity::kError},
      {Reason::kTrackerUnalignedStart, Severity::kError},
      {Reason::kTrackerPageReused, Severity::kError},
      {Reason::kClaimWrongOrder, Severity::kError},
      {Reason::kClaimTwice, Severity::kError},
      {Reason::kElfBadNote, Severity::kError},
      {Reason::kIommuDuplicateUnit, Severity::kError},
      {Reason::kIommuRestoredFieldSet, Severity::kError},
      {Reason::kIommuArmMismatch, Severity::kError},
      {Reason::kPasidDirEntryReserved, Severity::kError},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(GetReasonInfo(c.reason).severity, c.severity) << ReasonName(c.reason);
  }
}

TEST(Severity, Names) {
  EXPECT_EQ(SeverityName(Severity::kWarning), "warning");
  EXPECT_EQ(SeverityName(Severity::kStrict), "strict");
  EXPECT_EQ(SeverityName(Severity::kError), "error");
}

}  // namespace
}  // namespace khoabi
