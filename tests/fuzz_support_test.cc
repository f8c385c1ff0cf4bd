// The fuzz harness: option bytes, layer bases and inputs, and oracles that
// do fail when the promises they check are broken.
#include "lib/fuzz_support.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/fuzz_corpus.h"
#include "lib/fuzz_round_trip.h"
#include "lib/oracle.h"
#include "tests/test_util.h"

namespace khoabi::fuzz {
namespace {

using ::khoabi::testing::Problems;

TEST(OptionBytesTest, ZerosAreTheDefaultsWithinTheFuzzingImageLimit) {
  const Options o = OptionsFromBytes(OptionBytes{});
  const Options d;
  EXPECT_EQ(o.strict, d.strict);
  EXPECT_EQ(o.stop_at_first_error, d.stop_at_first_error);
  EXPECT_EQ(o.pasid_policy, d.pasid_policy);
  EXPECT_EQ(o.accept_iommu_a, d.accept_iommu_a);
  EXPECT_EQ(o.accept_iommu_b, d.accept_iommu_b);
  EXPECT_EQ(o.require_iommu, d.require_iommu);
  EXPECT_EQ(o.max_problems, d.max_problems);
  EXPECT_EQ(o.max_folios, d.max_folios);
  EXPECT_EQ(o.max_work, d.max_work);
  EXPECT_EQ(o.max_image_bytes, kFuzzMaxImageBytes);
}

TEST(OptionBytesTest, EachBitAndLimit) {
  EXPECT_FALSE(OptionsFromBytes({0x01, 0, 0, 0}).strict);
  EXPECT_TRUE(OptionsFromBytes({0x02, 0, 0, 0}).stop_at_first_error);
  EXPECT_EQ(OptionsFromBytes({0x04, 0, 0, 0}).pasid_policy, PasidPolicy::kNoPasidOnly);
  EXPECT_EQ(OptionsFromBytes({0x08, 0, 0, 0}).pasid_policy, PasidPolicy::kAllPresent);
  EXPECT_EQ(OptionsFromBytes({0x0c, 0, 0, 0}).pasid_policy, PasidPolicy::kAbiDefault);
  EXPECT_FALSE(OptionsFromBytes({0x10, 0, 0, 0}).accept_iommu_a);
  EXPECT_FALSE(OptionsFromBytes({0x20, 0, 0, 0}).accept_iommu_b);
  EXPECT_FALSE(OptionsFromBytes({0x40, 0, 0, 0}).require_iommu);
  EXPECT_EQ(OptionsFromBytes({0x80, 0, 0, 0}).max_problems, 1u);
  EXPECT_EQ(OptionsFromBytes({0, 1, 3, 0}).max_image_bytes, 3 * kPageSize);
  EXPECT_EQ(OptionsFromBytes({0, 1, 0xff, 0xff}).max_image_bytes, kFuzzMaxImageBytes);
  EXPECT_EQ(OptionsFromBytes({0, 2, 7, 1}).max_folios, 0x107u);
  EXPECT_EQ(OptionsFromBytes({0, 3, 5, 0}).max_tracker_pages, 5u);
  EXPECT_EQ(OptionsFromBytes({0, 4, 2, 0}).max_fdt_depth, 2u);
  EXPECT_EQ(OptionsFromBytes({0, 5, 2, 0}).max_chain_pages, 2u);
  EXPECT_EQ(OptionsFromBytes({0, 6, 9, 0}).max_objects, 9u);
  EXPECT_EQ(OptionsFromBytes({0, 7, 9, 0}).max_devices, 9u);
  EXPECT_EQ(OptionsFromBytes({0, 8, 9, 0}).max_pasid_tables, 9u);
  EXPECT_EQ(OptionsFromBytes({0, 9, 0, 0}).max_work, 64u);  // never 0, the default
}

TEST(LayerBasesTest, ValidWithPagesInEveryLayer) {
  ASSERT_GE(LayerBases().size(), 4u);
  std::set<IommuAbi> abis;
  std::set<KhoVersion> khos;
  for (const LayerBase& b : LayerBases()) {
    SCOPED_TRACE(b.name);
    const ImageView view = b.image.View();
    Decoder d(b.options);
    const DecodeResult& r = d.Decode(view);
    ASSERT_TRUE(r.ok()) << Problems(r.diag);
    EXPECT_EQ(CheckDecode(view, r, b.options), "");
    abis.insert(r.handoff.iommu->abi);
    khos.insert(r.handoff.kho.version);
    ImageReader reader(view);
    for (size_t l = 0; l < kLayerCount; ++l) {
      const auto& pages = b.pages[l];
      EXPECT_GT(pages.size(), b.preserved_spares.size() + b.unpreserved_spares.size())
          << LayerName(static_cast<Layer>(l)) << " has pages of its own";
      for (uint64_t pa : pages) EXPECT_TRUE(reader.Contains(pa, kPageSize)) << pa;
    }
  }
  EXPECT_EQ(abis.size(), 2u);
  EXPECT_EQ(khos.size(), 2u);
}

TEST(LayerInputTest, HeaderAloneIsTheBase) {
  for (size_t b = 0; b < LayerBases().size(); ++b) {
    const LayerBase& base = LayerBases()[b];
    const ImageView want = base.image.View();
    for (size_t l = 0; l < kLayerCount; ++l) {
      const Layer layer = static_cast<Layer>(l);
      const std::string input = EncodeLayerInput(layer, b, OptionBytes{}, want);
      EXPECT_EQ(input.size(), kLayerHeaderBytes) << "nothing differs from the base";
      LayerImage image(base);
      const auto bytes =
          absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(input.data()), input.size());
      image.Apply(layer, ParseLayerInput(bytes, layer));
      ASSERT_EQ(image.view().segments.size(), want.segments.size());
      for (size_t i = 0; i < want.segments.size(); ++i) {
        const auto& x = image.view().segments[i].bytes;
        const auto& y = want.segments[i].bytes;
        EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end()));
      }
    }
  }
}

// An input written for changed pages reproduces them, and applying another
// input afterwards restores what the first one wrote.
TEST(LayerInputTest, EncodeThenApplyReproducesThePages) {
  const LayerBase& base = LayerBases()[0];
  const Layer layer = Layer::kIommu;
  const uint64_t page = base.pages[static_cast<size_t>(layer)][1];
  Image changed = base.image;
  changed.Mutable(page + 100, 1)[0] = 0x5a;
  const ImageView changed_view = changed.View();
  const std::string input = EncodeLayerInput(layer, 0, OptionBytes{}, changed_view);
  LayerImage image(base);
  auto apply = [&image](const std::string& in) {
    image.Apply(layer, ParseLayerInput(absl::MakeConstSpan(
                                           reinterpret_cast<const uint8_t*>(in.data()), in.size()),
                                       layer));
  };
  apply(input);
  ImageReader reader(image.view());
  EXPECT_EQ(reader.Bytes(page + 100, 1)[0], 0x5a);
  apply(std::string(kLayerHeaderBytes, '\0'));
  const ImageView base_view = base.image.View();
  ImageReader base_reader(base_view);
  EXPECT_EQ(reader.Bytes(page + 100, 1)[0], base_reader.Bytes(page + 100, 1)[0])
      << "restored to the base";
}

// The oracles are not vacuous: an accepted result that breaks a promise
// makes CheckDecode fail.
TEST(CheckDecodeTest, FailsOnBrokenPromises) {
  const LayerBase& base = LayerBases()[0];
  const ImageView view = base.image.View();
  Decoder d(base.options);
  const DecodeResult& good = d.Decode(view);
  ASSERT_EQ(CheckDecode(view, good, base.options), "");

  {  // a device pointing at another domain than its record
    DecodeResult r = good;
    for (IommuDevice& dev : r.handoff.iommu->devices) {
      if (!dev.hdr.deleted()) {
        dev.domain_phys += 8;
        break;
      }
    }
    EXPECT_NE(CheckDecode(view, r, base.options), "");
  }
  {  // two records using one folio
    DecodeResult r = good;
    r.handoff.iommu->domains[1].top_table_phys = r.handoff.iommu->domains[0].top_table_phys;
    EXPECT_NE(CheckDecode(view, r, base.options), "");
  }
  {  // a blob whose bytes differ from the image's
    DecodeResult r = good;
    r.handoff.blobs[0].bytes[0] ^= 1;
    EXPECT_NE(CheckDecode(view, r, base.options), "");
  }
  {  // a folio dropped from the tracker
    DecodeResult r = good;
    r.handoff.kho.tracker.folios.pop_back();
    EXPECT_NE(CheckDecode(view, r, base.options), "");
  }
  {  // work beyond the linear budget
    DecodeResult r = good;
    r.work = r.work_budget + 1;
    EXPECT_NE(CheckDecode(view, r, base.options), "");
  }
  {  // an internal error
    DecodeResult r = good;
    r.diag.Report(Reason::kInternal, Path(), kNoPa, "test");
    EXPECT_NE(CheckDecode(view, r, base.options), "");
  }
  {  // a plain rejection is no failure
    DecodeResult r = good;
    r.diag.Report(Reason::kClaimTwice, Path(), 0x1000, "test");
    EXPECT_EQ(CheckDecode(view, r, base.options), "");
  }
  {  // options the result does not keep: ABI refused, policy, limits
    Options o = base.options;
    (good.handoff.iommu->abi == IommuAbi::kA ? o.accept_iommu_a : o.accept_iommu_b) = false;
    EXPECT_NE(CheckDecode(view, good, o), "");
    o = base.options;
    o.pasid_policy = PasidPolicy::kNoPasidOnly;  // base 0 has PASIDs other than 0
    EXPECT_NE(CheckDecode(view, good, o), "");
    o = base.options;
    o.max_tracker_pages = 1;
    EXPECT_NE(CheckDecode(view, good, o), "");
  }
}

TEST(RoundTripTest, GeneratedModelsCoverTheShapes) {
  std::set<IommuAbi> abis;
  std::set<KhoVersion> khos;
  std::set<PasidPolicy> policies;
  int built = 0, many_devices = 0, pasids = 0;
  for (const Seed& s : SeedsFor(Target::kRoundTrip)) {
    std::optional<GeneratedModel> g = ModelFromInput(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.bytes.data()), s.bytes.size()));
    if (!g.has_value()) continue;
    ++built;
    khos.insert(g->model.kho.version);
    policies.insert(g->options.pasid_policy);
    if (!g->model.iommu.has_value()) continue;
    abis.insert(g->model.iommu->abi);
    if (g->model.iommu->device_pages.size() > 1) ++many_devices;
    for (const IommuDevice& d : g->model.iommu->devices) pasids += d.pasid.tables.size() > 1;
    EXPECT_EQ(RunRoundTrip(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.bytes.data()),
                                               s.bytes.size())),
              "")
        << s.label;
  }
  EXPECT_GE(built, 20);
  EXPECT_EQ(abis.size(), 2u);
  EXPECT_EQ(khos.size(), 2u);
  EXPECT_EQ(policies.size(), 3u);
  EXPECT_GE(many_devices, 1);
  EXPECT_GE(pasids, 1);
}

TEST(TargetsTest, NamesAndFormats) {
  std::set<std::string> names;
  for (const TargetInfo& t : AllTargets()) {
    EXPECT_TRUE(names.insert(t.name).second);
    EXPECT_EQ(FindTarget(t.name), &t);
    EXPECT_EQ(&GetTargetInfo(t.target), &t);
    EXPECT_EQ(LayerOf(t.target).has_value(), t.format == InputFormat::kLayer);
  }
  EXPECT_EQ(FindTarget("nope"), nullptr);
}

}  // namespace
}  // namespace khoabi::fuzz
