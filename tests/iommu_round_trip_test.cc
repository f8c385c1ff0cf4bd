// The IOMMU and PASID layers, both ABIs and both policies: decode(encode(m))
// == m, and re-encoding a decoded handoff reproduces every byte.
#include <string>

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "lib/handoff_builder.h"
#include "lib/iommu_preserver.h"
#include "lib/model_text.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Errors;
using ::khoabi::testing::Problems;

struct Scenario {
  std::string name;
  IommuAbi abi;
  PasidPolicy policy;
  KhoVersion kho;
  int units;
  int devices;
  uint32_t max_pasid;
  int extra_pasids;  // per device, only under kAllPresent
  bool smmu;         // ABI B: also an SMMUv3 unit with devices
  int unpreserve;    // devices unpreserved again (flagged DELETED)
};

HandoffModel Build(const Scenario& s) {
  HandoffBuilder::Config c;
  c.kho_version = s.kho;
  HandoffBuilder b(c);
  IommuPreserver io(&b, {s.abi, s.policy});
  std::vector<int> units, domains;
  for (int u = 0; u < s.units; ++u) {
    units.push_back(io.AddIntelUnit(0xfed90000 + 0x1000 * static_cast<uint64_t>(u), u != 1));
    domains.push_back(io.AddDomain(units.back(), 3 + u % 3));
  }
  if (s.smmu) {
    units.push_back(io.AddSmmuV3Unit(0x2b400000));
    domains.push_back(io.AddDomain(units.back(), 4));
  }
  std::vector<int> devices;
  for (int i = 0; i < s.devices; ++i) {
    const size_t u = static_cast<size_t>(i) % units.size();
    const int dev =
        io.AddDevice(units[u], static_cast<uint32_t>(i / 256), static_cast<uint8_t>(i % 256),
                     static_cast<uint8_t>(i * 8), s.max_pasid);
    EXPECT_TRUE(io.Attach(dev, domains[u]).ok());
    const bool scalable = u != 1 && !(s.smmu && u + 1 == units.size());
    for (int p = 1; scalable && p <= s.extra_pasids; ++p) {
      EXPECT_TRUE(io.Attach(dev, domains[u], static_cast<uint32_t>(p * 97)).ok());
    }
    EXPECT_TRUE(io.PreserveDevice(dev).ok()) << i;
    devices.push_back(dev);
  }
  for (int i = 0; i < s.unpreserve; ++i) EXPECT_TRUE(io.UnpreserveDevice(devices[i * 2]).ok());
  EXPECT_TRUE(io.Finish().ok());
  absl::StatusOr<HandoffModel> m = std::move(b).Finish();
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : HandoffModel{};
}

class IommuRoundTripTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(IommuRoundTripTest, DecodeOfEncodeIsTheModel) {
  const Scenario& s = GetParam();
  HandoffModel m = Build(s);
  ASSERT_TRUE(m.iommu.has_value());
  absl::StatusOr<Image> image = EncodeHandoff(m);
  ASSERT_TRUE(image.ok()) << image.status();

  Options o;
  o.pasid_policy = s.policy;
  Decoder decoder(o);
  const DecodeResult& r = decoder.Decode(image->View());
  ASSERT_TRUE(r.ok()) << Problems(r.diag) << ModelToText(m);
  EXPECT_EQ(r.diag.warnings(), 0u) << Problems(r.diag);
  ::khoabi::testing::ExpectSameModel(r.handoff, m);
  for (const PreservedMemory::Entry& e : r.memory.entries()) EXPECT_TRUE(e.claimed) << e.pa;

  absl::StatusOr<Image> again = EncodeHandoff(r.handoff);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(WriteElfImage(*again), WriteElfImage(*image));
}

std::vector<Scenario> Scenarios() {
  std::vector<Scenario> out;
  for (IommuAbi abi : {IommuAbi::kA, IommuAbi::kB}) {
    const std::string a = abi == IommuAbi::kA ? "A" : "B";
    for (KhoVersion kho : {KhoVersion::kV1, KhoVersion::kV2}) {
      const std::string k = kho == KhoVersion::kV1 ? "kho1" : "kho2";
      out.push_back({a + "_" + k + "_one_device", abi, PasidPolicy::kNoPasidOnly, kho, 1, 1,
                     1u << 15, 0, false, 0});
      out.push_back(
          {a + "_" + k + "_no_devices", abi, PasidPolicy::kNoPasidOnly, kho, 0, 0, 0, 0, false, 0});
    }
    out.push_back({a + "_spill_pages", abi, PasidPolicy::kNoPasidOnly, KhoVersion::kV2, 40, 150,
                   1u << 16, 0, false, 0});
    out.push_back({a + "_all_present", abi, PasidPolicy::kAllPresent, KhoVersion::kV2, 3, 12,
                   1u << 20, 5, false, 0});
    out.push_back({a + "_unpreserved", abi, PasidPolicy::kNoPasidOnly, KhoVersion::kV1, 2, 8,
                   1u << 15, 0, false, 3});
  }
  out.push_back({"B_smmu", IommuAbi::kB, PasidPolicy::kAllPresent, KhoVersion::kV2, 2, 9, 1u << 17,
                 2, true, 1});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, IommuRoundTripTest, ::testing::ValuesIn(Scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& i) { return i.param.name; });

}  // namespace
}  // namespace khoabi
