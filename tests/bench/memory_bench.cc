// Benchmark 5: the heap a decode needs, relative to the image it decodes.
//
// With //tests:alloc_hook linked in, each decode is counted (tests/alloc_hook.h
// says exactly what): the number of operator new calls and the peak of bytes
// allocated and not yet freed during Decoder::Decode, over the image's bytes.
//   mem/cold/<shape>  a new Decoder: what a restoring kernel's single decode
//                     needs (the result's storage included);
//   mem/warm/<shape>  a Decoder that decoded the image before, as a fuzzer or
//                     a tool decoding many images runs it.
// The decoded view must not copy PASID tables: the full-directory image
// (64 MiB of tables) shows it.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "lib/decoder.h"
#include "tests/alloc_hook.h"
#include "tests/bench/bench_images.h"
#include "tests/bench/bench_main.h"

namespace khoabi::bench {
namespace {

using ::khoabi::testing::HeapCounter;
using ::khoabi::testing::HeapStats;

struct Shape {
  std::string name;
  const Image* (*image)(IommuAbi, KhoVersion, int);
  IommuAbi abi;
  KhoVersion kho;
  int devices;
};

const Image* Realistic(IommuAbi abi, KhoVersion kho, int devices) {
  return &GetRealistic(abi, kho, devices).image;
}
const Image* Full(IommuAbi, KhoVersion, int) { return &GetFullDirectory(EntryMix::kUniform).image; }

std::vector<Shape> Shapes() {
  std::vector<Shape> out;
  for (IommuAbi abi : {IommuAbi::kA, IommuAbi::kB}) {
    for (KhoVersion kho : {KhoVersion::kV1, KhoVersion::kV2}) {
      for (int devices : {1, 64, 1024}) {
        out.push_back({ShapeName(abi, kho, devices), Realistic, abi, kho, devices});
      }
    }
  }
  out.push_back({"full_pasid_directory", Full, IommuAbi::kB, KhoVersion::kV2, 1});
  return out;
}

void Measure(benchmark::State& state, const Shape& shape, bool warm) {
  const ImageView view = shape.image(shape.abi, shape.kho, shape.devices)->View();
  Decoder warm_decoder;
  if (warm && !warm_decoder.Decode(view).ok()) {
    state.SkipWithError("the image does not decode");
    return;
  }
  HeapStats stats;
  for (auto _ : state) {
    Decoder cold_decoder;
    Decoder& decoder = warm ? warm_decoder : cold_decoder;
    HeapCounter counter;
    const bool ok = decoder.Decode(view).ok();
    stats = counter.Stop();
    if (!ok) {
      state.SkipWithError("the image does not decode");
      break;
    }
  }
  const double image = static_cast<double>(view.total_bytes());
  state.counters["image_bytes"] = image;
  state.counters["allocations"] = static_cast<double>(stats.allocations);
  state.counters["peak_extra_bytes"] = static_cast<double>(stats.peak_extra_bytes);
  state.counters["peak_over_image"] = static_cast<double>(stats.peak_extra_bytes) / image;
}

void Register() {
  for (const Shape& s : Shapes()) {
    for (bool warm : {false, true}) {
      const std::string name = std::string(warm ? "mem/warm/" : "mem/cold/") + s.name;
      benchmark::RegisterBenchmark(name.c_str(), Measure, s, warm)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(2);
    }
  }
}

void Summarize(const Results& results) {
  std::printf("Heap used by one Decode (operator new, tests/alloc_hook.h), against the image\n\n");
  std::printf(
      "| shape | image MiB | cold: allocations | cold: peak extra KiB | cold: peak / image |"
      " warm: allocations | warm: peak extra KiB |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const Shape& s : Shapes()) {
    const Result* cold = results.Find("mem/cold/" + s.name);
    const Result* warm = results.Find("mem/warm/" + s.name);
    if (cold == nullptr || warm == nullptr) continue;
    std::printf("| %s | %.2f | %.0f | %.1f | %.4f | %.0f | %.1f |\n", s.name.c_str(),
                cold->counter("image_bytes") / (1 << 20), cold->counter("allocations"),
                cold->counter("peak_extra_bytes") / 1024, cold->counter("peak_over_image"),
                warm->counter("allocations"), warm->counter("peak_extra_bytes") / 1024);
  }
}

}  // namespace
}  // namespace khoabi::bench

int main(int argc, char** argv) {
  khoabi::bench::Register();
  return khoabi::bench::RunBenchmarks(argc, argv, khoabi::bench::Summarize);
}
