#include "tests/bench/bench_main.h"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <vector>

#include "benchmark/benchmark.h"

namespace khoabi::bench {
namespace {

double Seconds(double value, benchmark::TimeUnit unit) {
  switch (unit) {
    case benchmark::kNanosecond:
      return value * 1e-9;
    case benchmark::kMicrosecond:
      return value * 1e-6;
    case benchmark::kMillisecond:
      return value * 1e-3;
    case benchmark::kSecond:
      return value;
  }
  return value;
}

// The console output as usual (unless only the summary is wanted), and each
// benchmark's median kept.
class KeepingReporter : public benchmark::ConsoleReporter {
 public:
  KeepingReporter(Results* results, bool quiet) : results_(results), quiet_(quiet) {}

  bool ReportContext(const Context& context) override {
    return quiet_ || ConsoleReporter::ReportContext(context);
  }

  void ReportRuns(const std::vector<Run>& runs) override {
    if (!quiet_) ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      const bool only = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      if (!median && !only) continue;
      Result r;
      r.seconds = Seconds(run.GetAdjustedCPUTime(), run.time_unit);
      for (const auto& [name, counter] : run.counters) r.counters[name] = counter.value;
      results_->Set(run.run_name.function_name, std::move(r));
    }
  }

 private:
  Results* results_;
  bool quiet_;
};

}  // namespace

int RunBenchmarks(int argc, char** argv, const std::function<void(const Results&)>& summarize) {
  benchmark::Initialize(&argc, argv);
  bool quiet = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--summary_only") == 0) {
      quiet = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  Results results;
  KeepingReporter reporter(&results, quiet);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (!results.empty()) {
    std::cout.flush();
    std::printf("\n");
    summarize(results);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace khoabi::bench
