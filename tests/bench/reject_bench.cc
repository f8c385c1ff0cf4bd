// Benchmark 4: the cost of rejecting a corrupt image against the cost of
// accepting the valid image it was made from (same shape, same size up to
// the page or two a corruption adds).
//
// Every class of lib/corrupt.h is applied to a realistic 1024-device handoff
// (bench_images.h; ABI B gets an SMMUv3 unit too, so that its classes apply)
// of ABI A with kho-v1 and of ABI B with kho-v2; classes that need another
// shape are skipped. What is timed is the whole verdict from the file's
// bytes: ReadElfImage, then (if the file is an image) Decoder::Decode with a
// reused Decoder and the class's options; "accept" is the same for the valid
// file with default options, timed in the same iteration. The summary lists
// reject / accept per class, worst first.
#include <algorithm>
#include <chrono>
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

// Verdict: accepted or not; `work` gets the decoder's work units (0 when the
// file is no image), a deterministic measure of what the decode examined.
bool Verdict(const std::string& file, const Options& options, Decoder& decoder,
             uint64_t* work = nullptr) {
  Diagnostics elf_diag(options);
  LoadedImage loaded =
      ReadElfImage(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(file.data()), file.size()),
                   options, {}, &elf_diag);
  if (work != nullptr) *work = 0;
  if (!elf_diag.ok()) return false;
  const DecodeResult& r = decoder.Decode(loaded.view);
  if (work != nullptr) *work = r.work;
  return r.ok();
}

// Paired: each iteration times the corrupt file's verdict and the valid
// file's, in alternating order, so that both see the same machine (shared,
// noisy) and the ratio is of numbers taken side by side; then the corrupt
// file's with Options::stop_at_first_error, the fastest rejection (a
// fuzzer's). The benchmark's own time is the iteration's (so that a fast
// rejection does not make it run the slow acceptance for ever); the counters
// reject_s, accept_s and first_error_s split it.
void Run(benchmark::State& state, const Case* k) {
  using Clock = std::chrono::steady_clock;
  const Options options = OptionsFor(*k);
  Options stop_options = options;
  stop_options.stop_at_first_error = true;
  Decoder decoder(options), valid_decoder, stop_decoder(stop_options);
  Verdict(k->file, stop_options, stop_decoder);
  uint64_t reject_work = 0, accept_work = 0;
  bool accepted = Verdict(k->file, options, decoder, &reject_work);  // warm up both
  if (!Verdict(k->base->valid_file, valid_decoder.options(), valid_decoder, &accept_work)) {
    state.SkipWithError("the valid file is rejected");
    return;
  }
  double reject_s = 0, accept_s = 0, first_error_s = 0;
  bool corrupt_first = true;
  for (auto _ : state) {
    // Alternate which goes first, so that neither always finds the caches
    // filled by the other.
    double r = 0, a = 0;
    for (int turn = 0; turn < 2; ++turn) {
      const bool corrupt = (turn == 0) == corrupt_first;
      const Clock::time_point t0 = Clock::now();
      const bool v = corrupt ? Verdict(k->file, options, decoder)
                             : Verdict(k->base->valid_file, valid_decoder.options(), valid_decoder);
      const double t = std::chrono::duration<double>(Clock::now() - t0).count();
      benchmark::DoNotOptimize(v);
      (corrupt ? r : a) = t;
      if (corrupt) accepted = v;
    }
    corrupt_first = !corrupt_first;
    const Clock::time_point t0 = Clock::now();
    benchmark::DoNotOptimize(Verdict(k->file, stop_options, stop_decoder));
    const double f = std::chrono::duration<double>(Clock::now() - t0).count();
    reject_s += r;
    accept_s += a;
    first_error_s += f;
    state.SetIterationTime(r + a + f);
  }
  state.counters["accepted"] = accepted;
  state.counters["reject_s"] = reject_s / static_cast<double>(state.iterations());
  state.counters["accept_s"] = accept_s / static_cast<double>(state.iterations());
  state.counters["first_error_s"] = first_error_s / static_cast<double>(state.iterations());
  state.counters["reject_over_accept"] = accept_s > 0 ? reject_s / accept_s : 0;
  state.counters["work_ratio"] =
      static_cast<double>(reject_work) / static_cast<double>(accept_work);
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
        ->UseManualTime()
        ->MinTime(0.05);
  }
}

void Summarize(const Results& results) {
  std::printf(
      "Rejection cost: time to a verdict from the file's bytes, corrupt / valid, timed"
      " side by side in each iteration (medians)\n\n");
  for (const auto& base : Bases()) {
    struct Row {
      std::string name, layer;
      double seconds, accept, ratio, work, first_error;
      bool accepted;
    };
    std::vector<Row> rows;
    for (const auto& k : Cases()) {
      if (k->base != base.get()) continue;
      const Result* r = results.Find(CaseName(*k));
      if (r == nullptr) continue;
      rows.push_back({k->c->name, k->c->layer, r->counter("reject_s"), r->counter("accept_s"),
                      r->counter("reject_over_accept"), r->counter("work_ratio"),
                      r->counter("first_error_s"), r->counter("accepted") != 0});
    }
    if (rows.empty()) continue;
    std::sort(rows.begin(), rows.end(),
              [](const Row& a, const Row& b) { return a.ratio > b.ratio; });
    const size_t over = static_cast<size_t>(
        std::count_if(rows.begin(), rows.end(), [](const Row& r) { return r.ratio > 1.0; }));
    const size_t work_over = static_cast<size_t>(
        std::count_if(rows.begin(), rows.end(), [](const Row& r) { return r.work > 1.0; }));
    std::vector<double> accepts;
    for (const Row& r : rows) accepts.push_back(r.accept);
    std::nth_element(accepts.begin(), accepts.begin() + accepts.size() / 2, accepts.end());
    std::printf(
        "%s: accept %.3f ms (median over the pairs); %zu classes; worst reject/accept"
        " %.3f (%s); %zu above 1.0 in time, %zu above 1.0 in work units\n\n",
        base->name.c_str(), accepts[accepts.size() / 2] * 1e3, rows.size(), rows.front().ratio,
        rows.front().name.c_str(), over, work_over);
    std::printf(
        "| class | layer | verdict | reject ms | accept ms | reject/accept | work reject/accept |"
        " reject ms, stop at first error |\n"
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (const Row& r : rows) {
      std::printf("| %s | %s | %s | %.3f | %.3f | %.3f | %.4f | %.3f |\n", r.name.c_str(),
                  r.layer.c_str(), r.accepted ? "accepted (warning only)" : "rejected",
                  r.seconds * 1e3, r.accept * 1e3, r.ratio, r.work, r.first_error * 1e3);
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
