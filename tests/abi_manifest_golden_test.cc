// The layout manifest the headers produce must equal the checked-in golden file
// tests/testdata/abi_layout.json. A difference means a serialized layout
// changed; the failure names the record and field and what to do.
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "lib/abi_layout.h"
#include "lib/layout_diff.h"

namespace khoabi {
namespace {

constexpr char kGolden[] = "tests/testdata/abi_layout.json";

TEST(AbiManifestGoldenTest, LayoutsMatchTheGoldenManifest) {
  std::ifstream in(kGolden);
  ASSERT_TRUE(in.good()) << "cannot read " << kGolden;
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<LayoutManifest> golden = ManifestFromJson(text.str());
  ASSERT_TRUE(golden.ok()) << golden.status();

  std::string report;
  for (const AbiDiff& d : DiffManifests(*golden, BuiltinManifest())) {
    if (d.verdict != Verdict::kIdentical) report += FormatAbiDiff(d);
  }
  EXPECT_TRUE(report.empty())
      << "The ABI layouts built from abi/*.h differ from " << kGolden << ":\n"
      << report
      << "\nA serialized layout must never change under the same compatible string and version:\n"
         "the preserving and the restoring kernel would disagree about the bytes. To change a\n"
         "record, add a new ABI version (new structs, a new compatible string or version) and\n"
         "keep the old one. When a new version was added on purpose, regenerate the golden file:\n"
         "  bazel run //tools:khoabi -- layout --json > tests/testdata/abi_layout.json\n";
}

TEST(AbiManifestGoldenTest, JsonRoundTrips) {
  absl::StatusOr<LayoutManifest> back = ManifestFromJson(ManifestToJson(BuiltinManifest()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ManifestToJson(*back), ManifestToJson(BuiltinManifest()));
}

}  // namespace
}  // namespace khoabi
