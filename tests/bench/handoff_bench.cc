// Benchmarks 2 and 3: whole-handoff decode and encode of realistic images.
//
// Shapes: 1, 64 and 1024 devices (bench_images.h), IOMMU ABI A and B, kho-v1
// bitmaps and kho-v2 radix tracker. Measured:
//   decode/<shape>       Decoder::Decode with a reused (warm) Decoder, as a
//                        fuzzer or a validating tool runs it;
//   decode_cold/<shape>  a new Decoder per image, as a restoring kernel does
//                        once per boot (includes growing its storage);
//   encode/<shape>       EncodeHandoff of the model (corpus generation).
// The summary gives time per image, MB/s of image, and the growth ratio
// time(1024 devices) / time(64 devices): 16x the devices, linear is <= 17.
#include <cstdint>
#include <cstdio>
#include <string>

#include "benchmark/benchmark.h"
#include "lib/decoder.h"
#include "lib/handoff.h"
#include "tests/bench/bench_images.h"
#include "tests/bench/bench_main.h"

namespace khoabi::bench {
namespace {

constexpr int kDeviceCounts[] = {1, 64, 1024};
constexpr IommuAbi kAbis[] = {IommuAbi::kA, IommuAbi::kB};
constexpr KhoVersion kKhos[] = {KhoVersion::kV1, KhoVersion::kV2};

void Decode(benchmark::State& state, IommuAbi abi, KhoVersion kho, int devices) {
  const Encoded& e = GetRealistic(abi, kho, devices);
  const ImageView view = e.image.View();
  Decoder decoder;
  for (auto _ : state) {
    const DecodeResult& r = decoder.Decode(view);
    if (!r.ok()) {
      state.SkipWithError("the image does not decode");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * view.total_bytes()));
  state.counters["image_bytes"] = static_cast<double>(view.total_bytes());
}

void DecodeCold(benchmark::State& state, IommuAbi abi, KhoVersion kho, int devices) {
  const Encoded& e = GetRealistic(abi, kho, devices);
  const ImageView view = e.image.View();
  for (auto _ : state) {
    Decoder decoder;
    const DecodeResult& r = decoder.Decode(view);
    if (!r.ok()) {
      state.SkipWithError("the image does not decode");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * view.total_bytes()));
}

void Encode(benchmark::State& state, IommuAbi abi, KhoVersion kho, int devices) {
  const Encoded& e = GetRealistic(abi, kho, devices);
  for (auto _ : state) {
    absl::StatusOr<Image> image = EncodeHandoff(e.model);
    if (!image.ok()) {
      state.SkipWithError("the model does not encode");
      break;
    }
    benchmark::DoNotOptimize(image->segments().data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * e.image.total_bytes()));
}

void Register() {
  for (const char* what : {"decode", "decode_cold", "encode"}) {
    const std::string w = what;
    auto* fn = w == "decode" ? Decode : w == "decode_cold" ? DecodeCold : Encode;
    for (IommuAbi abi : kAbis) {
      for (KhoVersion kho : kKhos) {
        for (int devices : kDeviceCounts) {
          benchmark::RegisterBenchmark((w + "/" + ShapeName(abi, kho, devices)).c_str(), fn, abi,
                                       kho, devices)
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
}

void Summarize(const Results& results) {
  std::printf(
      "Whole-handoff decode and encode (medians; growth = time(1024 devices) /"
      " time(64 devices), linear <= 17)\n\n");
  std::printf(
      "| shape | image MiB | decode ms | decode MB/s | cold decode ms | encode ms |"
      " encode MB/s |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (IommuAbi abi : kAbis) {
    for (KhoVersion kho : kKhos) {
      for (int devices : kDeviceCounts) {
        const std::string shape = ShapeName(abi, kho, devices);
        const Result* d = results.Find("decode/" + shape);
        const Result* c = results.Find("decode_cold/" + shape);
        const Result* e = results.Find("encode/" + shape);
        if (d == nullptr && c == nullptr && e == nullptr) continue;
        const double mib = d ? d->counter("image_bytes") / (1 << 20) : 0;
        std::printf("| %s | %.2f | %.3f | %.0f | %.3f | %.3f | %.0f |\n", shape.c_str(), mib,
                    d ? d->seconds * 1e3 : 0, d ? d->counter("bytes_per_second") / 1e6 : 0,
                    c ? c->seconds * 1e3 : 0, e ? e->seconds * 1e3 : 0,
                    e ? e->counter("bytes_per_second") / 1e6 : 0);
      }
    }
  }
  std::printf("\n| shape | decode growth 64->1024 | cold decode growth | encode growth |\n");
  std::printf("| --- | ---: | ---: | ---: |\n");
  for (IommuAbi abi : kAbis) {
    for (KhoVersion kho : kKhos) {
      auto growth = [&](const std::string& what) {
        const Result* small = results.Find(what + "/" + ShapeName(abi, kho, 64));
        const Result* large = results.Find(what + "/" + ShapeName(abi, kho, 1024));
        return small && large && small->seconds > 0 ? large->seconds / small->seconds : 0.0;
      };
      std::printf("| %s | %.2f | %.2f | %.2f |\n", ShapeName(abi, kho, 0).substr(0, 8).c_str(),
                  growth("decode"), growth("decode_cold"), growth("encode"));
    }
  }
}

}  // namespace
}  // namespace khoabi::bench

int main(int argc, char** argv) {
  khoabi::bench::Register();
  return khoabi::bench::RunBenchmarks(argc, argv, khoabi::bench::Summarize);
}
