#include "lib/layout_diff.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/abi_layout.h"

namespace khoabi {
namespace {

using ::testing::HasSubstr;

const AbiVersion& Abi(absl::string_view name) {
  const AbiVersion* a = BuiltinManifest().FindAbi(name);
  EXPECT_NE(a, nullptr) << name;
  return *a;
}

RecordLayout* FindRecord(LayoutManifest& m, absl::string_view abi, absl::string_view name) {
  for (RecordLayout& r : m.records) {
    if (r.abi == abi && r.upstream_struct == name) return &r;
  }
  ADD_FAILURE() << "no record " << name;
  return nullptr;
}

TEST(LayoutDiffTest, SameAbiIsIdentical) {
  const LayoutManifest& m = BuiltinManifest();
  AbiDiff d = DiffAbi(m, Abi("B"), m, Abi("B"));
  EXPECT_EQ(d.verdict, Verdict::kIdentical);
  EXPECT_TRUE(d.Ok());
}

TEST(LayoutDiffTest, AToBIsBreakingWithVersionBump) {
  const LayoutManifest& m = BuiltinManifest();
  AbiDiff d = DiffAbi(m, Abi("A"), m, Abi("B"));
  EXPECT_EQ(d.verdict, Verdict::kBreakingNewVersion) << FormatAbiDiff(d);
  EXPECT_TRUE(d.Ok());
  EXPECT_TRUE(d.compatible_changed);
  EXPECT_TRUE(d.version_changed);
  std::string report = FormatAbiDiff(d);
  EXPECT_THAT(report, HasSubstr("struct iommu_domain_ser: breaking"));
  EXPECT_THAT(report, HasSubstr("size changed from 37 to 40 bytes"));
  EXPECT_THAT(report, HasSubstr("field 'restored_domain' moved: @29, 8 bytes -> @32, 8 bytes"));
  EXPECT_THAT(report, HasSubstr("struct iommu_master_smmuv3_ser: compatible"));  // added
}

TEST(LayoutDiffTest, MovedFieldUnderSameVersionFails) {
  LayoutManifest broken = BuiltinManifest();
  RecordLayout* dev = FindRecord(broken, "iommu-liveupdate.1", "iommu_device_ser");
  ASSERT_NE(dev, nullptr);
  // Swap devid and pci_domain_nr: same size, same fields, different bytes.
  std::swap(dev->fields[1].offset, dev->fields[2].offset);
  AbiDiff d = DiffAbi(BuiltinManifest(), Abi("B"), broken, Abi("B"));
  EXPECT_EQ(d.verdict, Verdict::kBreakingSameVersion);
  EXPECT_FALSE(d.Ok());
  std::string report = FormatAbiDiff(d);
  EXPECT_THAT(report, HasSubstr("field 'devid' moved: @8, 4 bytes -> @12, 4 bytes"));
  EXPECT_THAT(report, HasSubstr("needs a new ABI version"));
}

TEST(LayoutDiffTest, FieldInReservedBytesIsCompatible) {
  LayoutManifest grown = BuiltinManifest();
  RecordLayout* dom = FindRecord(grown, "iommu-liveupdate.1", "iommu_domain_ser");
  ASSERT_NE(dom, nullptr);
  // padding[3] @29 becomes flags u8 @29 + padding[2] @30.
  for (size_t i = 0; i < dom->fields.size(); ++i) {
    if (dom->fields[i].name == "padding") {
      dom->fields[i] = FieldLayout{"padding", 30, 2};
      dom->fields.insert(dom->fields.begin() + static_cast<long>(i), FieldLayout{"flags", 29, 1});
      break;
    }
  }
  RecordDiff r = DiffRecord(*FindRecord(const_cast<LayoutManifest&>(BuiltinManifest()),
                                        "iommu-liveupdate.1", "iommu_domain_ser"),
                            *dom);
  EXPECT_EQ(r.compat, Compat::kCompatible) << ::testing::PrintToString(r.changes);
}

TEST(LayoutDiffTest, FieldOverDataIsBreaking) {
  RecordLayout old_r{"x", "s", "s", 16, 0, {{"a", 0, 8}, {"b", 8, 8}}};
  RecordLayout new_r{"x", "s", "s", 16, 0, {{"a", 0, 8}, {"b", 8, 4}, {"c", 12, 4}}};
  RecordDiff r = DiffRecord(old_r, new_r);
  EXPECT_EQ(r.compat, Compat::kBreaking);
  EXPECT_THAT(::testing::PrintToString(r.changes), HasSubstr("field 'b' resized"));
}

TEST(LayoutDiffTest, RenameIsCompatible) {
  RecordLayout old_r{"x", "s", "s", 8, 0, {{"a", 0, 8}}};
  RecordLayout new_r{"x", "s", "s", 8, 0, {{"alpha", 0, 8}}};
  RecordDiff r = DiffRecord(old_r, new_r);
  EXPECT_EQ(r.compat, Compat::kCompatible);
  EXPECT_THAT(::testing::PrintToString(r.changes), HasSubstr("renamed to 'alpha'"));
}

TEST(LayoutDiffTest, RemovedRecordIsBreaking) {
  LayoutManifest fewer = BuiltinManifest();
  fewer.records.erase(std::remove_if(fewer.records.begin(), fewer.records.end(),
                                     [](const RecordLayout& r) {
                                       return r.abi == "iommu-liveupdate-v1" &&
                                              r.upstream_struct == "iommu_hw_ser";
                                     }),
                      fewer.records.end());
  AbiDiff d = DiffAbi(BuiltinManifest(), Abi("A"), fewer, Abi("A"));
  EXPECT_EQ(d.verdict, Verdict::kBreakingSameVersion);
  EXPECT_THAT(FormatAbiDiff(d), HasSubstr("struct iommu_hw_ser: breaking"));
}

}  // namespace
}  // namespace khoabi
