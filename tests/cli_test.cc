// The khoabi command line, run in process: every command's exit codes, --help,
// errors, and the JSON schemas of tools/README.md.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"

namespace khoabi::cli {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

struct Result {
  int rc;
  std::string out, err;
};

Result Khoabi(std::vector<std::string> args) {
  std::ostringstream out, err;
  Io io{out, err};
  const int rc = RunKhoabi(args, io);
  return {rc, out.str(), err.str()};
}

std::string Tmp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(Khoabi({"gen", "-o", Tmp("b.elf"), "--devices=3", "--pasid=5", "--opaque-flbs=1"}).rc,
              0);
    ASSERT_EQ(Khoabi({"gen", "--abi=A", "--kho=v1", "-o", Tmp("a.elf"), "--devices=2"}).rc, 0);
  }
};

TEST_F(CliTest, EveryCommandHasHelpWithExamplesAndExitCodes) {
  Result r = Khoabi({"--help"});
  EXPECT_EQ(r.rc, 0);
  for (const char* cmd :
       {"gen", "inspect", "validate", "corrupt", "explain", "find-root", "layout", "abi-diff"}) {
    EXPECT_THAT(r.out, HasSubstr(cmd));
    Result h = Khoabi({cmd, "--help"});
    EXPECT_EQ(h.rc, 0) << cmd;
    EXPECT_THAT(h.out, HasSubstr("usage: khoabi " + std::string(cmd))) << cmd;
    EXPECT_THAT(h.out, HasSubstr("examples:")) << cmd;
    EXPECT_THAT(h.out, HasSubstr("exit status")) << cmd;
  }
}

TEST_F(CliTest, UsageErrorsExitTwoAndSayWhatToDo) {
  EXPECT_EQ(Khoabi({}).rc, 2);
  Result r = Khoabi({"frobnicate"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'frobnicate'"));
  r = Khoabi({"validate"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("missing argument"));
  r = Khoabi({"validate", "--bogus", Tmp("b.elf")});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown option --bogus"));
  r = Khoabi({"validate", "--policy=sometimes", Tmp("b.elf")});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("--policy must be"));
  r = Khoabi({"validate", Tmp("does-not-exist.elf")});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("No such file"));
  r = Khoabi({"gen", "--devices=many", "-o", Tmp("x.elf")});
  EXPECT_EQ(r.rc, 2);
  r = Khoabi({"gen"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("-o/--output"));
}

TEST_F(CliTest, GenRefusesPasidsUnderNoPasidOnlyWithExitOne) {
  Result r = Khoabi({"gen", "--abi=A", "--pasid=5", "-o", Tmp("refused.elf")});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("refused"));
  EXPECT_THAT(r.err, HasSubstr("PASID 5 attached"));
  std::ifstream in(Tmp("refused.elf"));
  EXPECT_FALSE(in.good()) << "nothing is written when the kernel refuses";
}

TEST_F(CliTest, GenReadsScenarioFilesAndFlagsOverrideThem) {
  Result r = Khoabi(
      {"gen", "--scenario=tools/scenarios/abi_a_no_pasid.json", "--devices=3", "--print-scenario"});
  ASSERT_EQ(r.rc, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["abi"], "A");
  EXPECT_EQ(j["kho"], "kho-v1");
  EXPECT_EQ(j["devices"], 3);
  r = Khoabi({"gen", "--scenario=tools/scenarios/refused_pasid_a.json", "-o", Tmp("r.elf")});
  EXPECT_EQ(r.rc, 1);
}

TEST_F(CliTest, ValidateExitCodesAndProblemList) {
  Result ok = Khoabi({"validate", Tmp("b.elf")});
  EXPECT_EQ(ok.rc, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("valid"));
  ASSERT_EQ(Khoabi({"corrupt", Tmp("b.elf"), "--class=pasid_entry_aw", "-o", Tmp("aw.elf")}).rc, 0);
  Result bad = Khoabi({"validate", Tmp("aw.elf")});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_THAT(bad.out, HasSubstr("reason: pasid_entry_aw"));
  EXPECT_THAT(bad.out, HasSubstr("path:   iommu.devices[0].intel.pasid_dir[0].table[0]"));
  EXPECT_THAT(bad.out, HasSubstr("pa:     0x"));
  // A policy given on the command line overrides the ABI's.
  Result policy = Khoabi({"validate", "--policy=no-pasid", Tmp("b.elf")});
  EXPECT_EQ(policy.rc, 1);
  EXPECT_THAT(policy.out, HasSubstr("reason: pasid_policy_pasid_in_use"));
  // An ABI the caller does not accept.
  Result abi = Khoabi({"validate", "--abi=B", Tmp("a.elf")});
  EXPECT_EQ(abi.rc, 1);
  EXPECT_THAT(abi.out, HasSubstr("iommu_abi_not_accepted"));
}

TEST_F(CliTest, ValidateReportsEveryProblemUpToTheLimit) {
  Result r = Khoabi({"validate", "--policy=no-pasid", "--json", Tmp("b.elf")});
  ASSERT_EQ(r.rc, 1);
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["errors"], 3);  // PASID 5 on each of the three devices
  r = Khoabi({"validate", "--policy=no-pasid", "--json", "--max-problems=1", Tmp("b.elf")});
  j = Json::parse(r.out);
  EXPECT_EQ(j["problems"].size(), 1u);
  EXPECT_GE(j["not_shown"].get<int>(), 2);
}

TEST_F(CliTest, ValidateJsonSchema) {
  ASSERT_EQ(Khoabi({"corrupt", Tmp("b.elf"), "--class=iommu_ref_deleted", "-o", Tmp("del.elf")}).rc,
            0);
  Result r = Khoabi({"validate", "--json", Tmp("del.elf")});
  EXPECT_EQ(r.rc, 1);
  Json j = Json::parse(r.out);
  EXPECT_TRUE(j["file"].is_string());
  EXPECT_EQ(j["valid"], false);
  EXPECT_TRUE(j["errors"].is_number_unsigned());
  EXPECT_TRUE(j["warnings"].is_number_unsigned());
  EXPECT_TRUE(j["not_shown"].is_number_unsigned());
  ASSERT_TRUE(j["problems"].is_array());
  ASSERT_FALSE(j["problems"].empty());
  for (const Json& p : j["problems"]) {
    EXPECT_TRUE(p["severity"] == "error" || p["severity"] == "warning");
    EXPECT_TRUE(p["reason"].is_string());
    EXPECT_TRUE(p["path"].is_string());
    EXPECT_TRUE(p["pa"].is_null() ||
                (p["pa"].is_string() && p["pa"].get<std::string>().rfind("0x", 0) == 0));
    EXPECT_TRUE(p["detail"].is_string());
  }
  EXPECT_EQ(j["problems"][0]["severity"], "error");  // errors first
  EXPECT_EQ(j["problems"][0]["reason"], "iommu_ref_deleted");
}

TEST_F(CliTest, InspectJsonSchema) {
  Result r = Khoabi({"inspect", "--json", Tmp("b.elf")});
  ASSERT_EQ(r.rc, 0) << r.out;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["kho"]["version"], "kho-v2");
  EXPECT_EQ(j["kho"]["tracker"]["format"], "radix-tree");
  EXPECT_TRUE(j["kho"]["folios"].is_array());
  for (const Json& f : j["kho"]["folios"]) {
    EXPECT_TRUE(f["pa"].is_string() && f["order"].is_number() && f["claimed"].is_boolean());
  }
  EXPECT_EQ(j["luo"]["flbs"].size(), 2u);
  const Json& io = j["iommu"];
  EXPECT_EQ(io["abi"], "B");
  EXPECT_EQ(io["compatible"], "iommu-liveupdate");
  EXPECT_EQ(io["version"], 1);
  EXPECT_EQ(io["policy"], "all-present");
  ASSERT_EQ(io["devices"].size(), 3u);
  for (const Json& d : io["devices"]) {
    EXPECT_TRUE(d["bdf"].is_string());
    EXPECT_TRUE(d["domain"].is_number());
    EXPECT_TRUE(d["unit"].is_number());
    ASSERT_TRUE(d["pasid"].is_object());
    std::vector<int> pasids;
    for (const Json& p : d["pasid"]["present"]) {
      pasids.push_back(p["pasid"].get<int>());
      EXPECT_EQ(p["pgtt"], 2);
      EXPECT_EQ(p["did"], d["attachment_id"]);
    }
    EXPECT_EQ(pasids, (std::vector<int>{0, 5}));
  }
  EXPECT_EQ(io["units"][0]["type"], "intel-vtd");
}

TEST_F(CliTest, InspectTextShowsTheTree) {
  Result r = Khoabi({"inspect", Tmp("a.elf")});
  ASSERT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("KHO    kho-v1"));
  EXPECT_THAT(r.out, HasSubstr("IOMMU  ABI A \"iommu-liveupdate-v1\""));
  EXPECT_THAT(r.out, HasSubstr("policy no-pasid"));
  EXPECT_THAT(r.out, HasSubstr("PASID directory"));
  EXPECT_THAT(r.out, HasSubstr("0 (second-level, DID 2)"));
}

TEST_F(CliTest, CorruptListsEveryClassAndRejectsUnknownOnes) {
  Result r = Khoabi({"corrupt", "--list"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("iommu_chain_cycle"));
  EXPECT_THAT(r.out, HasSubstr("pasid_policy_pasid_in_use"));
  r = Khoabi({"corrupt", Tmp("b.elf"), "--class=nope", "-o", Tmp("x.elf")});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("--list"));
  // A class that needs what the image lacks.
  r = Khoabi({"corrupt", Tmp("a.elf"), "--class=iommu_bad_version", "-o", Tmp("x.elf")});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("needs ABI B"));
  // Only valid images are corrupted.
  r = Khoabi({"corrupt", Tmp("aw.elf"), "--class=iommu_chain_cycle", "-o", Tmp("x.elf")});
  EXPECT_EQ(r.rc, 2);
}

TEST_F(CliTest, ExplainKnowsEveryReason) {
  Result r = Khoabi({"explain", "pasid_policy_pasid_in_use"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("guards:"));
  EXPECT_THAT(r.out, HasSubstr("fix:"));
  EXPECT_THAT(r.out, HasSubstr("khoabi corrupt --class=pasid_policy_pasid_in_use"));
  r = Khoabi({"explain", "reason:claim_twice"});
  EXPECT_EQ(r.rc, 0);
  r = Khoabi({"explain", "chain"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("did you mean: iommu_chain_cycle"));
}

TEST_F(CliTest, ReasonsDocumentIsGeneratedFromTheTable) {
  Result r = Khoabi({"explain", "--all", "--markdown"});
  ASSERT_EQ(r.rc, 0);
  std::ifstream in("lib/REASONS.md");
  ASSERT_TRUE(in.good());
  std::stringstream doc;
  doc << in.rdbuf();
  EXPECT_TRUE(doc.str() == r.out)
      << "lib/REASONS.md is out of date: bazel run //tools:khoabi -- explain --all --markdown > "
         "lib/REASONS.md";
}

TEST_F(CliTest, FindRootFindsTheRootAndValidateSearchesWithoutANote) {
  Result r = Khoabi({"find-root", "--json", Tmp("b.elf")});
  ASSERT_EQ(r.rc, 0);
  Json j = Json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  Json inspect = Json::parse(Khoabi({"inspect", "--json", Tmp("b.elf")}).out);
  EXPECT_EQ(j[0]["pa"], inspect["kho"]["root_fdt"]);
  EXPECT_EQ(j[0]["version"], "kho-v2");
  EXPECT_EQ(j[0]["luo_node"], true);

  // The same memory without a KHO note, as in a kdump vmcore.
  std::ifstream in(Tmp("b.elf"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t note = bytes.find(std::string("KHO\0", 4));
  ASSERT_NE(note, std::string::npos);
  bytes[note] = 'X';
  std::ofstream(Tmp("nonote.elf"), std::ios::binary) << bytes;
  Result v = Khoabi({"validate", "--verbose", Tmp("nonote.elf")});
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  EXPECT_THAT(v.err, HasSubstr("found by search"));
  v = Khoabi({"validate", "--root=" + j[0]["pa"].get<std::string>(), Tmp("nonote.elf")});
  EXPECT_EQ(v.rc, 0);
  v = Khoabi({"validate", "--root=0x1000", Tmp("nonote.elf")});
  EXPECT_EQ(v.rc, 1);
  EXPECT_THAT(v.out, HasSubstr("pa_outside_image"));
  // Nothing to find in a file without an FDT.
  std::ofstream(Tmp("empty.elf"), std::ios::binary) << Khoabi({"layout", "--json"}).out;
  EXPECT_EQ(Khoabi({"find-root", Tmp("empty.elf")}).rc, 2);
}

TEST_F(CliTest, AbiDiffVerdictsAndExitCodes) {
  Result r = Khoabi({"abi-diff", "A", "B"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("breaking-with-version-bump"));
  r = Khoabi({"abi-diff", "--fail-on=breaking", "A", "B"});
  EXPECT_EQ(r.rc, 1);
  // A manifest with a field moved but the version unchanged breaks the contract.
  Json m = Json::parse(Khoabi({"layout", "--json", "--abi=B"}).out);
  for (Json& rec : m["records"]) {
    if (rec["struct"] != "iommu_device_ser") continue;
    std::swap(rec["fields"][1]["offset"], rec["fields"][2]["offset"]);
  }
  std::ofstream(Tmp("broken.json")) << m.dump();
  std::ofstream(Tmp("builtin.json")) << Khoabi({"layout", "--json"}).out;
  r = Khoabi({"abi-diff", Tmp("builtin.json"), Tmp("broken.json")});
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("breaking-without-version-bump"));
  EXPECT_THAT(r.out, HasSubstr("field 'devid' moved: @8, 4 bytes -> @12, 4 bytes"));
  EXPECT_THAT(r.out, HasSubstr("needs a new ABI version"));
  r = Khoabi({"abi-diff", "--json", Tmp("builtin.json") + ":B", Tmp("broken.json") + ":B"});
  EXPECT_EQ(r.rc, 1);
  Json d = Json::parse(r.out);
  EXPECT_EQ(d[0]["verdict"], "breaking-without-version-bump");
  r = Khoabi({"abi-diff", "builtin", Tmp("builtin.json")});
  EXPECT_EQ(r.rc, 0);
  r = Khoabi({"abi-diff", "--fail-on=any", "builtin", Tmp("builtin.json")});
  EXPECT_EQ(r.rc, 0);
  r = Khoabi({"abi-diff", "A", Tmp("nope.json")});
  EXPECT_EQ(r.rc, 2);
}

TEST_F(CliTest, LayoutJsonIsOneObjectPerRecord) {
  Result r = Khoabi({"layout", "--json"});
  ASSERT_EQ(r.rc, 0);
  Json j = Json::parse(r.out);
  ASSERT_TRUE(j["records"].is_array());
  for (const Json& rec : j["records"]) {
    EXPECT_TRUE(rec["abi"].is_string());
    EXPECT_TRUE(rec["struct"].is_string());
    EXPECT_TRUE(rec["size"].is_number_unsigned());
    for (const Json& f : rec["fields"]) {
      EXPECT_TRUE(f["name"].is_string() && f["offset"].is_number_unsigned() &&
                  f["size"].is_number_unsigned());
    }
  }
  EXPECT_EQ(Khoabi({"layout", "--abi=C"}).rc, 2);
}

}  // namespace
}  // namespace khoabi::cli
