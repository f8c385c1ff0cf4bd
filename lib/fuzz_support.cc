#include "lib/fuzz_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bitset>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/elf_image.h"
#include "lib/fuzz_round_trip.h"
#include "lib/iommu.h"
#include "lib/model_text.h"
#include "lib/oracle.h"
#include "lib/scenario.h"

namespace khoabi::fuzz {
namespace {

// --- Targets ------------------------------------------------------------------

constexpr TargetInfo kTargets[] = {
    {Target::kHandoff, "handoff", InputFormat::kElf,
     "a whole handoff as an ELF core file, decoded from the KHO root"},
    {Target::kElfReader, "elf_reader", InputFormat::kElf, "the ELF core file reader alone"},
    {Target::kTracker, "tracker", InputFormat::kLayer,
     "the preserved-memory tracker pages (kho-v1 chunks and bitmaps, kho-v2 radix tree)"},
    {Target::kFdt, "fdt", InputFormat::kLayer, "the KHO root FDT, LUO FDT and FLB header pages"},
    {Target::kIommu, "iommu", InputFormat::kLayer, "iommu_flb_ser and the IOMMU array list pages"},
    {Target::kPasid, "pasid", InputFormat::kLayer, "the VT-d PASID directories and tables"},
    {Target::kRoundTrip, "round_trip", InputFormat::kFdpModel,
     "models generated from the input: decode(encode(m)) == m"},
};

// --- Reasons seen ---------------------------------------------------------------

constexpr size_t kMaxReasons = 256;

struct ReasonLog {
  std::bitset<kMaxReasons> seen;
  int fd = -2;  // -2: not opened yet, -1: no file

  void Note(Reason r) {
    const size_t i = static_cast<size_t>(r);
    if (i >= kMaxReasons || seen[i]) return;
    seen[i] = true;
    if (fd == -2) {
      const char* path = std::getenv("KHOABI_FUZZ_REASONS_FILE");
      fd = path == nullptr ? -1 : open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    }
    if (fd >= 0) {
      const std::string line = absl::StrCat(ReasonName(r), "\n");
      // One short write with O_APPEND: lines of parallel jobs do not interleave.
      if (write(fd, line.data(), line.size()) < 0) fd = -1;
    }
  }
};

ReasonLog& Log() {
  static ReasonLog* log = new ReasonLog();
  return *log;
}

void NoteReasons(const Diagnostics& d) {
  for (const Problem& p : d.problems()) Log().Note(p.reason);
}

// --- Bases ------------------------------------------------------------------------

struct BaseShape {
  const char* name;
  Scenario scenario;
};

std::vector<BaseShape> BaseShapes() {
  std::vector<BaseShape> v;
  {
    Scenario s;  // ABI B, kho-v2, all present: every unit type, PASIDs in 2 tables
    s.abi = IommuAbi::kB;
    s.kho = KhoVersion::kV2;
    s.intel_units = 1;
    s.legacy_intel_units = 1;
    s.smmu_units = 1;
    s.devices = 4;
    s.max_pasid = 1u << 16;  // order-1 directory
    s.pasids = {1, 70};
    s.unpreserve = 1;
    s.opaque_flbs = 1;
    v.push_back({"B_kho-v2_all-present", s});
  }
  {
    Scenario s;  // ABI A, kho-v1, NO_PASID only
    s.abi = IommuAbi::kA;
    s.kho = KhoVersion::kV1;
    s.intel_units = 1;
    s.devices = 2;
    s.max_pasid = 1u << 15;
    v.push_back({"A_kho-v1_no-pasid", s});
  }
  {
    Scenario s;  // ABI B, kho-v1, NO_PASID only, scattered memory
    s.abi = IommuAbi::kB;
    s.kho = KhoVersion::kV1;
    s.policy = PasidPolicy::kNoPasidOnly;
    s.intel_units = 1;
    s.smmu_units = 1;
    s.devices = 3;
    s.max_pasid = 1u << 15;
    s.memory.seed = 7;
    s.memory.max_gap_pages = 3;
    v.push_back({"B_kho-v1_no-pasid", s});
  }
  {
    Scenario s;  // ABI A, kho-v2, two units, an order-2 directory
    s.abi = IommuAbi::kA;
    s.kho = KhoVersion::kV2;
    s.intel_units = 2;
    s.domains_per_unit = 2;
    s.levels = 5;
    s.devices = 3;
    s.max_pasid = 1u << 17;
    s.unpreserve = 1;
    s.memory.base = 0x7ff00000000ull;
    v.push_back({"A_kho-v2_no-pasid", s});
  }
  return v;
}

constexpr int kPreservedSpares = 4;
constexpr int kUnpreservedSpares = 2;

void AddPages(uint64_t pa, uint32_t order, std::vector<uint64_t>* pages) {
  for (uint64_t i = 0; i < (uint64_t{1} << order); ++i) pages->push_back(pa + i * kPageSize);
}

LayerBase MakeBase(const BaseShape& shape) {
  LayerBase b;
  b.name = shape.name;
  b.options.pasid_policy = shape.scenario.policy;
  absl::StatusOr<HandoffModel> built = BuildScenario(shape.scenario);
  if (!built.ok()) OracleFailure("bases", built.status().ToString());
  b.model = *std::move(built);

  // Spares above everything, with a gap: preserved ones join the tracker
  // (which is planned again, after them), unpreserved ones come last.
  PageAllocator::Config config;
  config.base = ((b.model.kho.tracker.top_of_memory() >> 21) + 2) << 21;
  PageAllocator allocator(config);
  std::vector<Folio> folios = b.model.kho.tracker.folios;
  for (int i = 0; i < kPreservedSpares; ++i) {
    const uint64_t pa = *allocator.Alloc(0);
    b.preserved_spares.push_back(pa);
    folios.push_back({pa, 0});
  }
  absl::StatusOr<TrackerModel> tracker =
      PlanTracker(b.model.kho.version, std::move(folios), allocator);
  if (!tracker.ok()) OracleFailure("bases", tracker.status().ToString());
  b.model.kho.tracker = *std::move(tracker);
  for (int i = 0; i < kUnpreservedSpares; ++i) b.unpreserved_spares.push_back(*allocator.Alloc(0));

  absl::StatusOr<Image> image = EncodeHandoff(b.model);
  if (!image.ok()) OracleFailure("bases", image.status().ToString());
  std::vector<Image::Segment> segments = image->segments();
  for (uint64_t pa : b.unpreserved_spares) {
    segments.push_back({pa, std::vector<uint8_t>(kPageSize, 0)});
  }
  absl::StatusOr<Image> with_spares = Image::FromSegments(image->root_pa, std::move(segments));
  if (!with_spares.ok()) OracleFailure("bases", with_spares.status().ToString());
  b.image = *std::move(with_spares);

  // Layer pages, in the order the decoder walks them.
  const HandoffModel& m = b.model;
  b.pages[static_cast<size_t>(Layer::kTracker)] = m.kho.tracker.page_pas();
  b.pages[static_cast<size_t>(Layer::kFdt)] = {m.kho.root_fdt_pa, m.luo.fdt_pa,
                                               m.luo.flb_header_pa};
  const IommuModel& io = *m.iommu;
  auto& iommu_pages = b.pages[static_cast<size_t>(Layer::kIommu)];
  iommu_pages.push_back(io.flb_ser_pa);
  for (const auto* list : {&io.unit_pages, &io.domain_pages, &io.device_pages}) {
    for (const IommuArrayPage& p : *list) iommu_pages.push_back(p.pa);
  }
  auto& pasid_pages = b.pages[static_cast<size_t>(Layer::kPasid)];
  for (const IommuDevice& d : io.devices) {
    if (d.hdr.deleted() || d.unit == kNoObject || d.pasid_table(io.abi) == 0 ||
        io.units[static_cast<size_t>(d.unit)].type != IOMMU_SER_TYPE_INTEL) {
      continue;
    }
    const int order = vtd_pasid_stored_max_order(d.max_pasid(io.abi));
    AddPages(d.pasid_table(io.abi), static_cast<uint32_t>(order), &pasid_pages);
    for (const PasidTable& t : d.pasid.tables) pasid_pages.push_back(t.pa());
  }
  const ImageView view = b.image.View();
  ImageReader reader(view);
  for (auto& pages : b.pages) {
    pages.insert(pages.end(), b.preserved_spares.begin(), b.preserved_spares.end());
    pages.insert(pages.end(), b.unpreserved_spares.begin(), b.unpreserved_spares.end());
    for (uint64_t pa : pages) {
      if (!reader.Contains(pa, kPageSize)) {
        OracleFailure("bases",
                      absl::StrFormat("%s: layer page %#x is not in the image", b.name, pa));
      }
    }
  }
  return b;
}

uint16_t LoadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

// --- Running inputs ---------------------------------------------------------------

// Copies an input into a buffer of exactly its size: the fuzzer's own buffer
// may be larger, and an over-read past the input must not go unnoticed.
class ExactCopy {
 public:
  ExactCopy(const uint8_t* data, size_t size) : bytes_(new uint8_t[size == 0 ? 1 : size]) {
    if (size != 0) std::memcpy(bytes_.get(), data, size);
    span_ = absl::MakeConstSpan(bytes_.get(), size);
  }
  absl::Span<const uint8_t> span() const { return span_; }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
  absl::Span<const uint8_t> span_;
};

void CheckElfDiagnostics(absl::string_view target, const Diagnostics& diag) {
  NoteReasons(diag);
  for (const Problem& p : diag.problems()) {
    if (p.reason == Reason::kInternal) OracleFailure(target, p.ToString());
  }
  if (!diag.ok() && diag.first_error() == nullptr) {
    OracleFailure(target, "the ELF reader counted an error but kept none");
  }
}

// A Decoder per option bytes seen, kept warm: a decoder that has seen an
// image of a size needs no allocation to reject the next one.
Decoder& DecoderFor(const OptionBytes& bytes, const Options& options) {
  static auto* decoders =
      new std::map<std::pair<OptionBytes, PasidPolicy>, std::unique_ptr<Decoder>>();
  if (decoders->size() > 256) decoders->clear();
  std::unique_ptr<Decoder>& d = (*decoders)[{bytes, options.pasid_policy}];
  if (d == nullptr) d = std::make_unique<Decoder>(options);
  return *d;
}

void RunDecode(absl::string_view target, const ImageView& view, const OptionBytes& bytes,
               const Options& options) {
  const DecodeResult& r = DecoderFor(bytes, options).Decode(view);
  NoteReasons(r.diag);
  const std::string broken = CheckDecode(view, r, options);
  if (!broken.empty()) OracleFailure(target, broken);
}

void RunElf(Target target, const uint8_t* data, size_t size) {
  const char* name = GetTargetInfo(target).name;
  ExactCopy file(data, size);
  const Options options = OptionsFromBytes(ElfOptionBytes(file.span()));
  Diagnostics elf_diag(options);
  LoadedImage loaded = ReadElfImage(file.span(), options, {}, &elf_diag);
  CheckElfDiagnostics(name, elf_diag);
  if (!elf_diag.ok()) return;
  if (target == Target::kElfReader) {
    if (absl::Status s = CheckElfImage(file.span(), loaded, options); !s.ok()) {
      OracleFailure(name, s.message());
    }
    return;
  }
  RunDecode(name, loaded.view, ElfOptionBytes(file.span()), options);
}

void RunLayer(Target target, Layer layer, const uint8_t* data, size_t size) {
  static std::vector<std::unique_ptr<LayerImage>>* images = [] {
    auto* v = new std::vector<std::unique_ptr<LayerImage>>();
    for (const LayerBase& b : LayerBases()) v->push_back(std::make_unique<LayerImage>(b));
    return v;
  }();
  ExactCopy input(data, size);
  const LayerInput in = ParseLayerInput(input.span(), layer);
  LayerImage& image = *(*images)[in.base];
  image.Apply(layer, in);
  Options options = OptionsFromBytes(in.options);
  if (options.pasid_policy == PasidPolicy::kAbiDefault) {
    options.pasid_policy = LayerBases()[in.base].options.pasid_policy;
  }
  RunDecode(GetTargetInfo(target).name, image.view(), in.options, options);
}

}  // namespace

absl::Span<const TargetInfo> AllTargets() { return kTargets; }

const TargetInfo& GetTargetInfo(Target t) { return kTargets[static_cast<size_t>(t)]; }

const TargetInfo* FindTarget(absl::string_view name) {
  for (const TargetInfo& t : kTargets) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

int RunInput(Target target, const uint8_t* data, size_t size) {
  switch (target) {
    case Target::kHandoff:
    case Target::kElfReader:
      RunElf(target, data, size);
      break;
    case Target::kTracker:
    case Target::kFdt:
    case Target::kIommu:
    case Target::kPasid:
      RunLayer(target, *LayerOf(target), data, size);
      break;
    case Target::kRoundTrip: {
      ExactCopy input(data, size);
      const std::string broken = RunRoundTrip(input.span());
      if (!broken.empty()) OracleFailure("round_trip", broken);
      break;
    }
  }
  return 0;
}

std::string DescribeInput(Target target, const uint8_t* data, size_t size) {
  const TargetInfo& info = GetTargetInfo(target);
  std::string out = absl::StrFormat("%s input of %u bytes\n", info.name, size);
  ExactCopy input(data, size);
  auto describe = [&out](const ImageView& view, const Options& options) {
    Decoder decoder(options);
    const DecodeResult& r = decoder.Decode(view);
    absl::StrAppend(&out, "decode: ", r.ok() ? "accepted" : "rejected",
                    absl::StrFormat(", work %u of %u\n", r.work, r.work_budget));
    for (const Problem& p : r.diag.problems()) absl::StrAppend(&out, "  ", p.ToString(), "\n");
    absl::StrAppend(&out, ModelToText(r.handoff));
    absl::StrAppend(&out, "oracles: ", CheckDecode(view, r, options), "\n");
  };
  if (info.format == InputFormat::kElf) {
    const Options options = OptionsFromBytes(ElfOptionBytes(input.span()));
    Diagnostics diag(options);
    LoadedImage loaded = ReadElfImage(input.span(), options, {}, &diag);
    for (const Problem& p : diag.problems()) absl::StrAppend(&out, "elf: ", p.ToString(), "\n");
    if (diag.ok()) describe(loaded.view, options);
  } else if (std::optional<Layer> layer = LayerOf(target); layer.has_value()) {
    const LayerInput in = ParseLayerInput(input.span(), *layer);
    const LayerBase& base = LayerBases()[in.base];
    absl::StrAppend(&out, "base ", base.name, ", ", in.sections.size(), " sections\n");
    LayerImage image(base);
    image.Apply(*layer, in);
    Options options = OptionsFromBytes(in.options);
    if (options.pasid_policy == PasidPolicy::kAbiDefault) {
      options.pasid_policy = base.options.pasid_policy;
    }
    describe(image.view(), options);
  } else {
    std::optional<GeneratedModel> g = ModelFromInput(input.span());
    absl::StrAppend(&out, g.has_value() ? ModelToText(g->model) : "no model\n");
    absl::StrAppend(&out, "round trip: ", RunRoundTrip(input.span()), "\n");
  }
  return out;
}

// --- Options ----------------------------------------------------------------------

Options OptionsFromBytes(const OptionBytes& b) {
  Options o;
  o.max_image_bytes = kFuzzMaxImageBytes;
  o.strict = (b[0] & 0x01) == 0;
  o.stop_at_first_error = (b[0] & 0x02) != 0;
  switch ((b[0] >> 2) & 3) {
    case 1:
      o.pasid_policy = PasidPolicy::kNoPasidOnly;
      break;
    case 2:
      o.pasid_policy = PasidPolicy::kAllPresent;
      break;
    default:
      o.pasid_policy = PasidPolicy::kAbiDefault;
  }
  o.accept_iommu_a = (b[0] & 0x10) == 0;
  o.accept_iommu_b = (b[0] & 0x20) == 0;
  o.require_iommu = (b[0] & 0x40) == 0;
  if (b[0] & 0x80) o.max_problems = 1;
  const uint64_t v = LoadU16(&b[2]);
  switch (b[1] & 0x0f) {
    case 1:
      o.max_image_bytes = std::min(v * kPageSize, kFuzzMaxImageBytes);
      break;
    case 2:
      o.max_folios = v;
      break;
    case 3:
      o.max_tracker_pages = v;
      break;
    case 4:
      o.max_fdt_depth = static_cast<uint32_t>(v);
      break;
    case 5:
      o.max_chain_pages = v;
      break;
    case 6:
      o.max_objects = v;
      break;
    case 7:
      o.max_devices = v;
      break;
    case 8:
      o.max_pasid_tables = v;
      break;
    case 9:
      o.max_work = (v + 1) * 64;
      break;
    default:
      break;
  }
  return o;
}

OptionBytes ElfOptionBytes(absl::Span<const uint8_t> file) {
  OptionBytes b{};
  for (size_t i = 0; i < kOptionBytes && kElfOptionOffset + i < file.size(); ++i) {
    b[i] = file[kElfOptionOffset + i];
  }
  return b;
}

// --- Layers -------------------------------------------------------------------------

const char* LayerName(Layer layer) {
  static const char* const kNames[] = {"tracker", "fdt", "iommu", "pasid"};
  return kNames[static_cast<size_t>(layer)];
}

std::optional<Layer> LayerOf(Target target) {
  switch (target) {
    case Target::kTracker:
      return Layer::kTracker;
    case Target::kFdt:
      return Layer::kFdt;
    case Target::kIommu:
      return Layer::kIommu;
    case Target::kPasid:
      return Layer::kPasid;
    default:
      return std::nullopt;
  }
}

const std::vector<LayerBase>& LayerBases() {
  static const std::vector<LayerBase>* bases = [] {
    auto* v = new std::vector<LayerBase>();
    for (const BaseShape& shape : BaseShapes()) v->push_back(MakeBase(shape));
    return v;
  }();
  return *bases;
}

std::string EncodeLayerInput(Layer layer, size_t base, const OptionBytes& options,
                             const ImageView& image) {
  const LayerBase& b = LayerBases()[base];
  const std::vector<uint64_t>& pages = b.pages[static_cast<size_t>(layer)];
  const ImageView base_view = b.image.View();
  ImageReader base_reader(base_view), reader(image);
  std::vector<std::vector<uint8_t>> contents;
  size_t last_differing = 0;
  for (size_t k = 0; k < pages.size(); ++k) {
    std::vector<uint8_t> page(kPageSize, 0);
    reader.Read(pages[k], page.data(), kPageSize);
    absl::Span<const uint8_t> was = base_reader.Bytes(pages[k], kPageSize);
    if (!std::equal(page.begin(), page.end(), was.begin())) last_differing = k + 1;
    while (!page.empty() && page.back() == 0) page.pop_back();
    contents.push_back(std::move(page));
  }
  std::string out(1, static_cast<char>(base));
  out.append(options.begin(), options.end());
  for (size_t k = 0; k < last_differing; ++k) {
    out.push_back(static_cast<char>(contents[k].size() & 0xff));
    out.push_back(static_cast<char>(contents[k].size() >> 8));
    out.append(contents[k].begin(), contents[k].end());
  }
  return out;
}

LayerInput ParseLayerInput(absl::Span<const uint8_t> input, Layer layer) {
  LayerInput in;
  const size_t n = LayerBases().size();
  in.base = input.empty() ? 0 : input[0] % n;
  for (size_t i = 0; i < kOptionBytes && 1 + i < input.size(); ++i) in.options[i] = input[1 + i];
  const size_t pages = LayerBases()[in.base].pages[static_cast<size_t>(layer)].size();
  size_t at = kLayerHeaderBytes;
  while (at < input.size() && in.sections.size() < pages) {
    size_t len = at + 1 < input.size() ? LoadU16(&input[at]) : input[at];
    at += 2;
    len = std::min<size_t>(len, kPageSize);
    len = at < input.size() ? std::min(len, input.size() - at) : 0;
    in.sections.push_back(input.subspan(std::min(at, input.size()), len));
    at += len;
  }
  return in;
}

LayerImage::LayerImage(const LayerBase& base) : base_(base) {
  view_.root_pa = base.image.root_pa;
  for (const Image::Segment& s : base.image.segments()) {
    buffers_.emplace_back(new uint8_t[s.bytes.size()]);
    std::memcpy(buffers_.back().get(), s.bytes.data(), s.bytes.size());
    view_.segments.push_back({s.pa, absl::MakeConstSpan(buffers_.back().get(), s.bytes.size())});
  }
}

uint8_t* LayerImage::PagePtr(uint64_t pa) {
  ImageReader reader(view_);
  absl::Span<const uint8_t> page = reader.Bytes(pa, kPageSize);
  return const_cast<uint8_t*>(page.data());  // our own buffers
}

void LayerImage::Apply(Layer layer, const LayerInput& input) {
  const std::vector<uint64_t>& pages = base_.pages[static_cast<size_t>(layer)];
  const ImageView base_view = base_.image.View();
  ImageReader base_reader(base_view);
  std::vector<uint64_t> written;
  for (size_t k = 0; k < input.sections.size(); ++k) {
    uint8_t* page = PagePtr(pages[k]);
    const absl::Span<const uint8_t> s = input.sections[k];
    if (!s.empty()) std::memcpy(page, s.data(), s.size());
    std::memset(page + s.size(), 0, kPageSize - s.size());
    written.push_back(pages[k]);
  }
  // Pages the last input wrote that this one does not: back to the base.
  for (uint64_t pa : dirty_) {
    if (std::find(written.begin(), written.end(), pa) != written.end()) continue;
    std::memcpy(PagePtr(pa), base_reader.Bytes(pa, kPageSize).data(), kPageSize);
  }
  dirty_ = std::move(written);
}

// --- Oracles -------------------------------------------------------------------------

std::string CheckDecode(const ImageView& image, const DecodeResult& r, const Options& options) {
  for (const Problem& p : r.diag.problems()) {
    if (p.reason == Reason::kInternal) return absl::StrCat("internal error: ", p.ToString());
  }
  if (!r.ok() && r.diag.first_error() == nullptr) {
    return "the decoder counted an error but kept none: the rejection has no reason";
  }
  // Work: the default budget is the linear bound the decoder promises for
  // any input, so reaching it is a finding; a budget the options tightened
  // may be reached, but only with limit_work reported (the decode is rejected).
  if (r.work > r.work_budget) {
    if (options.max_work == 0) {
      return absl::StrFormat("work %u exceeds the linear budget %u of a %u-byte image", r.work,
                             r.work_budget, image.total_bytes());
    }
    if (r.ok()) return "work exceeded the budget, yet the decode was accepted";
  }
  if (!r.ok()) {
    // Precise errors: a rejection is the first error as a status, with that
    // reason's code and its stable name as the payload.
    const Problem* first = r.diag.first_error();
    const absl::Status status = r.diag.ToStatus();
    if (status.ok() || status.code() != GetReasonInfo(first->reason).code ||
        ReasonOf(status) != first->reason) {
      return absl::StrCat("the rejection's status does not name its first error: ",
                          status.ToString());
    }
    return "";
  }
  if (absl::Status s = CheckAcceptedInvariants(image, r.handoff, options); !s.ok()) {
    return std::string(s.message());
  }
  // Lenient decodes accept non-zero unused bytes, which no model holds:
  // the round trip only applies when none were seen.
  const bool reencode_applies =
      options.strict || (!r.diag.Has(Reason::kUnusedBytesNotZero) && r.diag.dropped() == 0);
  if (reencode_applies) {
    if (absl::Status s = CheckReencode(image, r.handoff); !s.ok()) return std::string(s.message());
  }
  return "";
}

void OracleFailure(absl::string_view target, absl::string_view what) {
  std::fprintf(stderr, "khoabi oracle failure (%.*s): %.*s\n", static_cast<int>(target.size()),
               target.data(), static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

std::vector<Reason> ReasonsSeen() {
  std::vector<Reason> out;
  for (const ReasonInfo& info : AllReasons()) {
    const size_t i = static_cast<size_t>(info.reason);
    if (i < kMaxReasons && Log().seen[i]) out.push_back(info.reason);
  }
  return out;
}

}  // namespace khoabi::fuzz
