// The compatibility matrix: handoffs encoded in each ABI version (and with or
// without PASIDs in use) against decoders restricted to each version and
// policy. The expected cells are written out below by hand; the test also
// checks that README.md shows this very table.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/scenario.h"

namespace khoabi {
namespace {

struct Row {
  const char* label;
  IommuAbi abi;
  KhoVersion kho;
  std::vector<uint32_t> pasids;
};

struct Column {
  const char* label;
  bool accept_a, accept_b;
  PasidPolicy policy;
};

const Row kRows[] = {
    {"A, kho-v1", IommuAbi::kA, KhoVersion::kV1, {}},
    {"A, kho-v2", IommuAbi::kA, KhoVersion::kV2, {}},
    {"B, kho-v1", IommuAbi::kB, KhoVersion::kV1, {}},
    {"B, kho-v2", IommuAbi::kB, KhoVersion::kV2, {}},
    {"B, kho-v2, PASID 5 in use", IommuAbi::kB, KhoVersion::kV2, {5}},
};

const Column kColumns[] = {
    {"A only", true, false, PasidPolicy::kAbiDefault},
    {"B only", false, true, PasidPolicy::kAbiDefault},
    {"A and B", true, true, PasidPolicy::kAbiDefault},
    {"A and B, --policy=no-pasid", true, true, PasidPolicy::kNoPasidOnly},
};

// What each cell must say: "accept" or the reason of the first error.
const char* const kExpected[5][4] = {
    {"accept", "iommu_abi_not_accepted", "accept", "accept"},
    {"accept", "iommu_abi_not_accepted", "accept", "accept"},
    {"iommu_abi_not_accepted", "accept", "accept", "accept"},
    {"iommu_abi_not_accepted", "accept", "accept", "accept"},
    {"iommu_abi_not_accepted", "accept", "accept", "pasid_policy_pasid_in_use"},
};

std::string Cell(const DecodeResult& r) {
  if (r.ok()) return "accept";
  return std::string(ReasonName(r.diag.first_error()->reason));
}

std::string MarkdownTable(const std::vector<std::vector<std::string>>& cells) {
  std::string out = "| image \\ decoder accepts |";
  for (const Column& c : kColumns) absl::StrAppend(&out, " ", c.label, " |");
  absl::StrAppend(&out, "\n| --- |");
  for (size_t i = 0; i < std::size(kColumns); ++i) absl::StrAppend(&out, " --- |");
  absl::StrAppend(&out, "\n");
  for (size_t r = 0; r < cells.size(); ++r) {
    absl::StrAppend(&out, "| ", kRows[r].label, " |");
    for (const std::string& c : cells[r]) {
      absl::StrAppend(&out, " ", c == "accept" ? "accept" : absl::StrCat("reject: `", c, "`"),
                      " |");
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

TEST(CompatMatrixTest, EveryImageAgainstEveryDecoder) {
  std::vector<std::vector<std::string>> cells;
  for (size_t r = 0; r < std::size(kRows); ++r) {
    Scenario s;
    s.abi = kRows[r].abi;
    s.kho = kRows[r].kho;
    s.devices = 2;
    s.pasids = kRows[r].pasids;
    absl::StatusOr<HandoffModel> m = BuildScenario(s);
    ASSERT_TRUE(m.ok()) << m.status();
    absl::StatusOr<Image> image = EncodeHandoff(*m);
    ASSERT_TRUE(image.ok());
    cells.emplace_back();
    for (size_t c = 0; c < std::size(kColumns); ++c) {
      Options o;
      o.accept_iommu_a = kColumns[c].accept_a;
      o.accept_iommu_b = kColumns[c].accept_b;
      o.pasid_policy = kColumns[c].policy;
      Decoder decoder(o);
      cells.back().push_back(Cell(decoder.Decode(image->View())));
      EXPECT_EQ(cells.back().back(), kExpected[r][c])
          << kRows[r].label << " / " << kColumns[c].label;
    }
  }
  std::ifstream in("README.md");
  ASSERT_TRUE(in.good());
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string table = MarkdownTable(cells);
  EXPECT_NE(readme.str().find(table), std::string::npos)
      << "README.md should show the compatibility matrix:\n"
      << table;
}

}  // namespace
}  // namespace khoabi
