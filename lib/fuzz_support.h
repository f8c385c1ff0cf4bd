// fuzz_support.h: everything khoabi's fuzz targets do, so that fuzz/ holds
// only glue (LLVMFuzzerTestOneInput calling RunInput).
//
// Targets, one per entry point a restoring kernel (or a tool) has:
//
//   handoff      a whole handoff image as an ELF core file: ReadElfImage, then
//                Decoder from the KHO root (the main target)
//   elf_reader   ReadElfImage alone
//   tracker      the preserved-memory tracker pages of a fixed valid handoff
//   fdt          the KHO root FDT, LUO FDT and FLB header pages
//   iommu        iommu_flb_ser and the IOMMU array list pages
//   pasid        the PASID directories and tables
//   round_trip   a model built from the input: decode(encode(m)) == m
//
// The four layer targets overwrite only their layer's pages of one of a few
// fixed valid handoffs (LayerBases), so the fuzzer spends its time there while
// the decoder still runs from the root, as the kernel would.
//
// Every input runs under the oracles of spec/validation.md: an accepted decode
// must pass CheckAcceptedInvariants and CheckReencode (oracle.h); an
// internal_error reason, an error counted but not kept, or work beyond the
// linear budget is a crash. A failed oracle prints "khoabi oracle failure"
// with the reason and aborts, which every fuzzing engine reports as a crash.
//
// Example (the whole of a fuzz target):
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     return khoabi::fuzz::RunInput(khoabi::fuzz::Target::kTracker, data, size);
//   }
#ifndef KHOABI_LIB_FUZZ_SUPPORT_H_
#define KHOABI_LIB_FUZZ_SUPPORT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "lib/decoder.h"
#include "lib/handoff.h"
#include "lib/image.h"
#include "lib/options.h"
#include "lib/reason.h"

namespace khoabi::fuzz {

// --- Targets -------------------------------------------------------------------

enum class Target : uint8_t {
  kHandoff = 0,
  kElfReader = 1,
  kTracker = 2,
  kFdt = 3,
  kIommu = 4,
  kPasid = 5,
  kRoundTrip = 6,
};

// How a target's inputs are laid out.
enum class InputFormat : uint8_t {
  kElf,       // an ELF core file (WriteElfImage, WriteCompactElfImage)
  kLayer,     // a layer input (see EncodeLayerInput)
  kFdpModel,  // bytes a FuzzedDataProvider turns into a handoff model
};

struct TargetInfo {
  Target target;
  const char* name;  // "handoff": fuzz/handoff_fuzzer, fuzz/corpus/handoff/
  InputFormat format;
  const char* summary;  // fuzz/<name>.options holds its libFuzzer options
};

absl::Span<const TargetInfo> AllTargets();
const TargetInfo& GetTargetInfo(Target t);
const TargetInfo* FindTarget(absl::string_view name);

// RunInput runs one input of `target` under every oracle. Returns 0, the
// value libFuzzer expects; an oracle failure does not return (it aborts).
int RunInput(Target target, const uint8_t* data, size_t size);

// DescribeInput explains what `target` makes of an input, for triage: the
// options, the ELF reader's and decoder's problems, and the decoded model.
std::string DescribeInput(Target target, const uint8_t* data, size_t size);

// --- Harness options ---------------------------------------------------------------

// kOptionBytes bytes of an input choose the decode Options; all zero is the
// default Options, except that images are limited to kFuzzMaxImageBytes: a
// few hundred bytes of ELF file may declare gigabytes of zero-filled memory,
// which ReadElfImage must then allocate (linear in the image, as promised,
// but not in the file). ELF inputs carry them in e_ident[EI_PAD..] (bytes 9-12,
// which ELF readers ignore and WriteElfImage leaves zero), layer inputs in
// bytes 1-4.
//
//   byte 0  bit 0 lenient (strict = false)   bit 1 stop_at_first_error
//           bits 2-3 pasid_policy (0 and 3: ABI default, 1 NO_PASID only, 2 all present)
//           bit 4 reject ABI A   bit 5 reject ABI B   bit 6 IOMMU not required
//           bit 7 max_problems = 1
//   byte 1  which limit to tighten (low 4 bits): 0 none, 1 image bytes, 2 folios,
//           3 tracker pages, 4 FDT depth, 5 chain pages, 6 objects, 7 devices,
//           8 PASID tables, 9 work
//   byte 2-3  the limit, little-endian: image bytes in pages, work in units of
//           64 (plus 64), others as is
inline constexpr size_t kOptionBytes = 4;
inline constexpr uint64_t kFuzzMaxImageBytes = 16ull << 20;
inline constexpr size_t kElfOptionOffset = 9;  // EI_PAD
using OptionBytes = std::array<uint8_t, kOptionBytes>;

Options OptionsFromBytes(const OptionBytes& bytes);
// Reads the option bytes of an ELF input (zeros if it is too short).
OptionBytes ElfOptionBytes(absl::Span<const uint8_t> file);

// --- Layer targets ---------------------------------------------------------------

enum class Layer : uint8_t { kTracker = 0, kFdt = 1, kIommu = 2, kPasid = 3 };
inline constexpr size_t kLayerCount = 4;
const char* LayerName(Layer layer);
std::optional<Layer> LayerOf(Target target);

// A fixed valid handoff and, per layer, the 4 KiB pages a layer input writes:
// the layer's own pages in walk order, then spare pages every layer shares
// (preserved order-0 folios nothing claims, and pages that are in the image
// but not preserved), so inputs can point at, chain to and fill new pages.
struct LayerBase {
  std::string name;
  Options options;  // default Options, with the policy the handoff was built for
  HandoffModel model;
  Image image;
  std::vector<uint64_t> preserved_spares, unpreserved_spares;
  std::array<std::vector<uint64_t>, kLayerCount> pages;
};

// LayerBases: the handoffs the layer targets start from (ABI A and B, kho-v1
// and kho-v2, both PASID policies, Intel, legacy Intel and SMMUv3 units).
const std::vector<LayerBase>& LayerBases();

// A layer input: byte 0 picks the base (modulo their number), bytes 1-4 are
// option bytes, then one section per layer page, in order: a little-endian
// u16 length (at most 4096) and that many bytes, which replace the start of
// the page; the rest of the page becomes zero. Pages past the last section
// keep the base's bytes, so the 5-byte input {b, 0, 0, 0, 0} is base b.
inline constexpr size_t kLayerHeaderBytes = 1 + kOptionBytes;

// EncodeLayerInput writes the layer input that turns base `base` into the
// pages of `image` (which holds the base's layer pages at the same PAs; a page
// missing from `image` becomes zeros). Sections are trimmed of trailing zeros
// and trailing pages equal to the base's are left out.
std::string EncodeLayerInput(Layer layer, size_t base, const OptionBytes& options,
                             const ImageView& image);

struct LayerInput {
  size_t base = 0;  // already reduced modulo the number of bases
  OptionBytes options{};
  std::vector<absl::Span<const uint8_t>> sections;  // into the input
};
// ParseLayerInput never fails on a non-empty input: a short header reads as
// zeros, a section length past the end takes what is left.
LayerInput ParseLayerInput(absl::Span<const uint8_t> input, Layer layer);

// LayerImage is a base image that layer inputs are applied to in place. Each
// segment lives in its own exactly sized heap buffer, so a read past a
// segment's end is caught by AddressSanitizer.
class LayerImage {
 public:
  explicit LayerImage(const LayerBase& base);
  // Apply writes the input's sections over the layer's pages and restores the
  // other layer pages to the base's bytes.
  void Apply(Layer layer, const LayerInput& input);
  const ImageView& view() const { return view_; }

 private:
  uint8_t* PagePtr(uint64_t pa);
  const LayerBase& base_;
  std::vector<std::unique_ptr<uint8_t[]>> buffers_;
  ImageView view_;
  std::vector<uint64_t> dirty_;  // pages written by the last Apply
};

// --- Oracles ---------------------------------------------------------------------

// CheckDecode applies the decode oracles to one result. Returns an empty
// string when they hold, else what broke.
std::string CheckDecode(const ImageView& image, const DecodeResult& r, const Options& options);

// OracleFailure prints the failure and aborts.
[[noreturn]] void OracleFailure(absl::string_view target, absl::string_view what);

// --- Reason coverage ---------------------------------------------------------------

// Every reason RunInput has seen reported (kept problems of the ELF reader
// and the decoder), in this process. If the environment variable
// KHOABI_FUZZ_REASONS_FILE names a file, each reason is also appended to it
// (one name per line) the first time this process sees it.
std::vector<Reason> ReasonsSeen();

}  // namespace khoabi::fuzz

#endif  // KHOABI_LIB_FUZZ_SUPPORT_H_
