#include "lib/scenario.h"

#include <fstream>
#include <set>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/decoder.h"

namespace khoabi {
namespace {

using ::testing::HasSubstr;

TEST(ScenarioTest, JsonRoundTrips) {
  Scenario s;
  s.abi = IommuAbi::kA;
  s.kho = KhoVersion::kV1;
  s.policy = PasidPolicy::kNoPasidOnly;
  s.devices = 7;
  s.pasids = {3, 9};
  s.memory.base = 0x123456000;
  s.memory.seed = 5;
  s.memory.max_gap_pages = 3;
  absl::StatusOr<Scenario> back = ScenarioFromJson(ScenarioToJson(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ScenarioToJson(*back), ScenarioToJson(s));
  EXPECT_EQ(back->memory.base, 0x123456000u);
  EXPECT_EQ(back->pasids, (std::vector<uint32_t>{3, 9}));
}

TEST(ScenarioTest, RejectsWhatItDoesNotKnow) {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {"[]", "JSON object"},
      {"{\"devcies\": 3}", "unknown scenario key \"devcies\""},
      {"{\"abi\": \"C\"}", "\"abi\" must be"},
      {"{\"kho\": \"kho-v3\"}", "\"kho\" must be"},
      {"{\"policy\": \"sometimes\"}", "\"policy\" must be"},
      {"{\"levels\": 6}", "\"levels\" must be an integer from 3 to 5"},
      {"{\"devices\": -1}", "\"devices\""},
      {"{\"pasids\": [0]}", "PASIDs from 1"},
      {"{\"memory\": {\"bass\": 1}}", "unknown memory key"},
      {"{\"iommu\": 1}", "\"iommu\" must be true or false"},
      {"not json", "JSON object"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Scenario> s = ScenarioFromJson(c.json);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(c.error)) << c.json;
  }
}

TEST(ScenarioTest, ShippedExamplesParseAndBuildAsDocumented) {
  for (const char* name :
       {"minimal_b", "server_vtd_b", "abi_a_no_pasid", "smmu_mixed_b", "refused_pasid_a"}) {
    std::ifstream in(std::string("tools/scenarios/") + name + ".json");
    ASSERT_TRUE(in.good()) << name;
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<Scenario> s = ScenarioFromJson(text.str());
    ASSERT_TRUE(s.ok()) << name << ": " << s.status();
    absl::StatusOr<HandoffModel> m = BuildScenario(*s);
    if (std::string(name) == "refused_pasid_a") {
      EXPECT_TRUE(absl::IsFailedPrecondition(m.status())) << m.status();
      continue;
    }
    ASSERT_TRUE(m.ok()) << name << ": " << m.status();
    absl::StatusOr<Image> image = EncodeHandoff(*m);
    ASSERT_TRUE(image.ok());
    Decoder decoder;
    EXPECT_TRUE(decoder.Decode(image->View()).ok()) << name;
  }
}

TEST(ScenarioTest, BuildRefusesImpossibleScenarios) {
  Scenario s;
  s.abi = IommuAbi::kA;
  s.smmu_units = 1;
  EXPECT_TRUE(absl::IsInvalidArgument(BuildScenario(s).status()));
  s = Scenario{};
  s.intel_units = 0;
  s.devices = 2;
  EXPECT_TRUE(absl::IsInvalidArgument(BuildScenario(s).status()));
  s = Scenario{};
  s.unpreserve = 2;
  EXPECT_TRUE(absl::IsInvalidArgument(BuildScenario(s).status()));
}

TEST(ScenarioTest, DevicesAreSpreadOverUnitsWithUniqueIds) {
  Scenario s;
  s.intel_units = 3;
  s.devices = 300;
  absl::StatusOr<HandoffModel> m = BuildScenario(s);
  ASSERT_TRUE(m.ok());
  std::vector<int> per_unit(3);
  for (const IommuDevice& d : m->iommu->devices) ++per_unit[static_cast<size_t>(d.unit)];
  EXPECT_EQ(per_unit, (std::vector<int>{100, 100, 100}));
  std::set<std::pair<uint32_t, uint32_t>> ids;
  for (const IommuDevice& d : m->iommu->devices) ids.insert({d.pci_domain_nr, d.devid});
  EXPECT_EQ(ids.size(), 300u);
}

}  // namespace
}  // namespace khoabi
