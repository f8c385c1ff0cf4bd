// Benchmark 4: the cost of rejecting a corrupt image against the cost of
// accepting the valid image it was made from (same shape, same size up to
// the page or two a corruption adds).
//
// Every class of lib/corrupt.h is applied to a realistic 1024-device handoff
// (bench_images.h; ABI B gets an SMMUv3 unit too, so that its classes apply)
// of ABI A with kho-v1 and of ABI B with kho-v2; classes that need another
// shape are skipped. What is timed is the whole verdict from the file's
// bytes: ReadElfImage, then (if the file is an image) Decoder::Decode with a
// reused Decoder and the class's options. "accept" is the same for the valid
// file. The summary lists reject / accept per class, worst first.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "lib/corrupt.h"
#include "lib/decoder.h"
#include "lib/elf_image.h"
#include "tests/bench/bench_images.h"
#include "tests/bench/bench_main.h"

namespace khoabi::bench {
namespace {

constexpr int kDevices = 1024;

struct Base {
  std::string name;
  HandoffModel model;
  std::string valid_file;
};

struct Case {
  const Base* base;
  const CorruptionClass* c;  // null: the valid file
  std::string file;
};

std::vector<std::unique_ptr<Base>>& Bases() {
  static auto* bases = new std::vector<std::unique_ptr<Base>>();
  return *bases;
}
std::vector<std::unique_ptr<Case>>& Cases() {
  static auto* cases = new std::vector<std::unique_ptr<Case>>();
  return *cases;
}

Options OptionsFor(const Case& k) {
  Options o;
  if (k.c != nullptr) o.pasid_policy = k.c->policy;
  return o;
}

bool Verdict(const std::string& file, const Options& options, Decoder& decoder) {
  Diagnostics elf_diag(options);
  LoadedImage loaded =
      ReadElfImage(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(file.data()), file.size()),
                   options, {}, &elf_diag);
  if (!elf_diag.ok()) return false;
  return decoder.Decode(loaded.view).ok();
}

void Run(benchmark::State& state, const Case* k) {
  const Options options = OptionsFor(*k);
  Decoder decoder(options);
  bool accepted = Verdict(k->file, options, decoder);  // warm up
  if (k->c == nullptr && !accepted) {
    state.SkipWithError("the valid file is rejected");
    return;
  }
  for (auto _ : state) {
    accepted = Verdict(k->file, options, decoder);
    benchmark::DoNotOptimize(accepted);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * k->file.size()));
  state.counters["accepted"] = accepted;
}

std::string CaseName(const Case& k) {
  return "reject/" + k.base->name + "/" + (k.c == nullptr ? "valid" : k.c->name);
}

void Register() {
  for (auto [abi, kho] :
       {std::pair{IommuAbi::kA, KhoVersion::kV1}, std::pair{IommuAbi::kB, KhoVersion::kV2}}) {
    Scenario s = RealisticScenario(abi, kho, kDevices);
    if (abi == IommuAbi::kB) s.smmu_units = 1;
    absl::StatusOr<HandoffModel> model = BuildScenario(s);
    absl::StatusOr<Image> image = model.ok() ? EncodeHandoff(*model) : model.status();
    if (!image.ok()) {
      std::fprintf(stderr, "reject_bench: %s\n", image.status().ToString().c_str());
      continue;
    }
    auto base = std::make_unique<Base>();
    base->name = ShapeName(abi, kho, kDevices);
    base->model = *std::move(model);
    base->valid_file = WriteElfImage(*image);
    Cases().push_back(std::make_unique<Case>(Case{base.get(), nullptr, base->valid_file}));
    for (const CorruptionClass& c : CorruptionClasses()) {
      absl::StatusOr<std::string> file = ApplyCorruption(c, base->model);
      if (!file.ok()) continue;  // FailedPrecondition: needs another shape
      Cases().push_back(std::make_unique<Case>(Case{base.get(), &c, *std::move(file)}));
    }
    Bases().push_back(std::move(base));
  }
  for (const auto& k : Cases()) {
    benchmark::RegisterBenchmark(CaseName(*k).c_str(), Run, k.get())
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(0.05);
  }
}

void Summarize(const Results& results) {
  std::printf("Rejection cost: reject / accept from the file's bytes (medians, this run)\n\n");
  for (const auto& base : Bases()) {
    const Result* valid = results.Find("reject/" + base->name + "/valid");
    if (valid == nullptr) continue;
    struct Row {
      std::string name, layer;
      double seconds, ratio;
      bool accepted;
    };
    std::vector<Row> rows;
    for (const auto& k : Cases()) {
      if (k->base != base.get() || k->c == nullptr) continue;
      const Result* r = results.Find(CaseName(*k));
      if (r == nullptr) continue;
      rows.push_back({k->c->name, k->c->layer, r->seconds, r->seconds / valid->seconds,
                      r->counter("accepted") != 0});
    }
    std::sort(rows.begin(), rows.end(),
              [](const Row& a, const Row& b) { return a.ratio > b.ratio; });
    const size_t over = static_cast<size_t>(
        std::count_if(rows.begin(), rows.end(), [](const Row& r) { return r.ratio > 1.0; }));
    std::printf("%s: accept %.3f ms; %zu classes; worst reject/accept %.3f (%s); %zu above 1.0\n\n",
                base->name.c_str(), valid->seconds * 1e3, rows.size(),
                rows.empty() ? 0.0 : rows.front().ratio,
                rows.empty() ? "-" : rows.front().name.c_str(), over);
    std::printf(
        "| class | layer | verdict | ms | reject/accept |\n| --- | --- | --- | ---: | ---: |\n");
    for (const Row& r : rows) {
      std::printf("| %s | %s | %s | %.3f | %.3f |\n", r.name.c_str(), r.layer.c_str(),
                  r.accepted ? "accepted (warning only)" : "rejected", r.seconds * 1e3, r.ratio);
    }
    std::printf("\n");
  }
}

}  // namespace
}  // namespace khoabi::bench

int main(int argc, char** argv) {
  khoabi::bench::Register();
  return khoabi::bench::RunBenchmarks(argc, argv, khoabi::bench::Summarize);
}
