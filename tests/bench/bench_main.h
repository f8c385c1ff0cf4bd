// bench_main.h: a main for khoabi's benchmark binaries that also prints the
// derived table (GB/s, ratios) from the numbers of the same run.
//
// Each benchmark's result is its median over --benchmark_repetitions (or its
// only run without repetitions), CPU time per iteration, with its counters.
// Ratios are computed from these medians, all measured in one process, so a
// noisy machine moves numerator and denominator together as far as it can.
#ifndef KHOABI_TESTS_BENCH_BENCH_MAIN_H_
#define KHOABI_TESTS_BENCH_BENCH_MAIN_H_

#include <functional>
#include <map>
#include <string>

namespace khoabi::bench {

struct Result {
  double seconds = 0;  // CPU time per iteration (median)
  std::map<std::string, double> counters;

  double counter(const std::string& name) const {
    auto it = counters.find(name);
    return it == counters.end() ? 0 : it->second;
  }
};

class Results {
 public:
  // Find returns the result of the benchmark registered as `name`, or null
  // when it did not run (filtered out, or skipped with an error).
  const Result* Find(const std::string& name) const {
    auto it = results_.find(name);
    return it == results_.end() ? nullptr : &it->second;
  }
  void Set(const std::string& name, Result r) { results_[name] = std::move(r); }
  bool empty() const { return results_.empty(); }

 private:
  std::map<std::string, Result> results_;
};

// RunBenchmarks runs every registered benchmark (Google Benchmark's flags, plus
// --summary_only: no per-benchmark lines on the console, only the summary;
// --benchmark_out still gets every run), then calls `summarize` with the
// results. Returns the process exit code.
int RunBenchmarks(int argc, char** argv, const std::function<void(const Results&)>& summarize);

// GBps: bytes per second as decimal GB/s.
inline double GBps(double bytes_per_second) { return bytes_per_second / 1e9; }

}  // namespace khoabi::bench

#endif  // KHOABI_TESTS_BENCH_BENCH_MAIN_H_
