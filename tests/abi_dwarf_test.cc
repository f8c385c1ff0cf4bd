// Compares the layout manifest (sizeof/offsetof in //lib:abi_layout) with an
// independent source: the DWARF that gcc and clang emit for the ABI headers,
// as read by pahole. Also checks that the headers, the probe object and the
// manifest name the same set of structs, so no record escapes the checks.
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/abi_layout.h"

namespace khoabi {
namespace {

struct DwarfStruct {
  uint64_t size = 0;
  std::vector<FieldLayout> fields;  // union arms flattened, in order
};

std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) ADD_FAILURE() << "'" << cmd << "' exited with " << rc;
  return out;
}

// Parses pahole's default C-like output.
std::map<std::string, DwarfStruct> ParsePahole(const std::string& text) {
  std::map<std::string, DwarfStruct> out;
  static const std::regex kStart(R"(^struct (\w+) \{$)");
  static const std::regex kMember(R"(^\t+[^/]*?\b(\w+)(\[\d+\])*;\s*/\*\s*(\d+)\s+(\d+)\s*\*/)");
  static const std::regex kSize(R"(/\* size: (\d+),)");
  std::istringstream in(text);
  std::string line;
  DwarfStruct* cur = nullptr;
  bool in_union = false;
  std::vector<FieldLayout> union_fields;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, kStart)) {
      cur = &out[m[1]];
      *cur = DwarfStruct{};
      continue;
    }
    if (cur == nullptr) continue;
    if (line.rfind("}", 0) == 0) {
      cur = nullptr;
      continue;
    }
    if (std::regex_search(line, m, kSize)) {
      cur->size = std::stoull(m[1]);
      continue;
    }
    // An anonymous union's arms are fields of the struct. The block is a
    // member only if its closing "};" carries an offset comment: with clang's
    // DWARF, pahole also prints the union's type definition, without one.
    if (line.find("union {") != std::string::npos) {
      in_union = true;
      union_fields.clear();
      continue;
    }
    if (line.find("};") != std::string::npos) {
      if (in_union && line.find("/*") != std::string::npos) {
        cur->fields.insert(cur->fields.end(), union_fields.begin(), union_fields.end());
      }
      in_union = false;
      continue;
    }
    if (std::regex_search(line, m, kMember)) {
      FieldLayout f{m[1], std::stoull(m[3]), std::stoull(m[4])};
      (in_union ? union_fields : cur->fields).push_back(f);
    }
  }
  return out;
}

std::set<std::string> StructsDefinedInHeaders() {
  std::set<std::string> out;
  static const std::regex kDef(R"(^struct (\w+) \{)");
  for (const char* h : {"abi/iommu.h", "abi/kexec_handover.h", "abi/luo.h", "abi/vtd_pasid.h",
                        "abi/khoabi_types.h"}) {
    std::ifstream in(h);
    EXPECT_TRUE(in.good()) << h;
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, kDef)) out.insert(m[1]);
    }
  }
  return out;
}

std::set<std::string> ManifestCTypes() {
  std::set<std::string> out;
  for (const RecordLayout& r : BuiltinManifest().records) out.insert(r.c_type);
  return out;
}

class AbiDwarfTest : public ::testing::TestWithParam<const char*> {};

TEST_P(AbiDwarfTest, EveryRecordMatchesPahole) {
  const std::string object = GetParam();
  std::map<std::string, DwarfStruct> dwarf = ParsePahole(RunCommand("pahole " + object));
  ASSERT_FALSE(dwarf.empty()) << "pahole printed no struct for " << object;

  std::set<std::string> dwarf_names;
  for (const auto& [name, s] : dwarf) dwarf_names.insert(name);
  EXPECT_EQ(dwarf_names, ManifestCTypes())
      << "DWARF of " << object << " and the manifest describe different structs";

  for (const RecordLayout& r : BuiltinManifest().records) {
    SCOPED_TRACE(r.abi + " " + r.c_type + " in " + object);
    auto it = dwarf.find(r.c_type);
    if (it == dwarf.end()) continue;  // reported above
    EXPECT_EQ(it->second.size, r.size) << "size";
    ASSERT_EQ(it->second.fields.size(), r.fields.size()) << "field count";
    for (size_t i = 0; i < r.fields.size(); ++i) {
      EXPECT_EQ(it->second.fields[i].name, r.fields[i].name) << "field " << i;
      EXPECT_EQ(it->second.fields[i].offset, r.fields[i].offset) << r.fields[i].name;
      EXPECT_EQ(it->second.fields[i].size, r.fields[i].size) << r.fields[i].name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Compilers, AbiDwarfTest,
                         ::testing::Values("tests/layout_probe_gcc.o",
                                           "tests/layout_probe_clang.o"));

TEST(AbiCoverageTest, HeadersProbeAndManifestNameTheSameStructs) {
  std::set<std::string> defined = StructsDefinedInHeaders();
  EXPECT_EQ(defined, ManifestCTypes())
      << "a struct in abi/*.h is missing from lib/abi_layout.cc, or the reverse";
}

TEST(AbiCoverageTest, ParserSeesAnonymousUnionArms) {
  std::map<std::string, DwarfStruct> d = ParsePahole(
      "struct x {\n\tuint64_t a; /* 0 8 */\n\tunion {\n\t\tstruct y i; /* 8 16 */\n"
      "\t\tstruct z s; /* 8 4 */\n\t}; /* 8 16 */\n\tunion {\n\t\tstruct y i; /* 0 16 */\n"
      "\t};\n\n\t/* size: 24, cachelines: 1 */\n};\n");
  ASSERT_EQ(d.count("x"), 1u);
  EXPECT_EQ(d["x"].size, 24u);
  ASSERT_EQ(d["x"].fields.size(), 3u);
  EXPECT_EQ(d["x"].fields[2].name, "s");
  EXPECT_EQ(d["x"].fields[2].offset, 8u);
  EXPECT_EQ(d["x"].fields[2].size, 4u);
}

}  // namespace
}  // namespace khoabi
