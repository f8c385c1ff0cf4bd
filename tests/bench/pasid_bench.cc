// Benchmark 1: PASID validation against the memory-bandwidth limit.
//
// One device with a full 2^20-PASID directory, every PASID entry present
// (16384 tables, 64 MiB of entries). Measured in the same process:
//   pasid/validate/*   DecodePasid over the directory and all tables: the
//                      decoder's PASID walk, every check, claims included;
//   pasid/stream_read  a plain streaming read (OR of every 64-bit word) of the
//                      same bytes in the same order: the one-core limit;
//   pasid/memcpy       copying the same bytes out;
//   pasid/decode_handoff  the whole Decoder::Decode of that image.
// The summary gives GB/s and validation / streaming read.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"
#include "lib/decode_context.h"
#include "lib/decode_scratch.h"
#include "lib/decoder.h"
#include "lib/pasid.h"
#include "tests/bench/bench_images.h"
#include "tests/bench/bench_main.h"

namespace khoabi::bench {
namespace {

uint64_t Load(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// OR of every word: each byte is loaded once, nothing else is done with it.
__attribute__((noinline)) uint64_t OrWords(const uint8_t* p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i < n; i += 32) {
    a |= Load(p + i);
    b |= Load(p + i + 8);
    c |= Load(p + i + 16);
    d |= Load(p + i + 24);
  }
  return a | b | c | d;
}

uint64_t ReadAll(const FullDirectory& fd) {
  uint64_t acc = OrWords(fd.dir, fd.dir_bytes);
  for (const uint8_t* t : fd.tables) acc |= OrWords(t, kPageSize);
  return acc;
}

void StreamRead(benchmark::State& state, EntryMix mix) {
  const FullDirectory& fd = GetFullDirectory(mix);
  for (auto _ : state) benchmark::DoNotOptimize(ReadAll(fd));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * fd.bytes()));
}

void Memcpy(benchmark::State& state, EntryMix mix) {
  const FullDirectory& fd = GetFullDirectory(mix);
  std::vector<uint8_t> out(fd.bytes(), 1);  // touched: no page faults in the loop
  for (auto _ : state) {
    uint8_t* to = out.data();
    std::memcpy(to, fd.dir, fd.dir_bytes);
    to += fd.dir_bytes;
    for (const uint8_t* t : fd.tables) {
      std::memcpy(to, t, kPageSize);
      to += kPageSize;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * fd.bytes()));
}

// DecodePasid alone, with the decoder's own context. Claims can be made once,
// so the preserved memory is restored (untimed) before each iteration. Each
// iteration also times a streaming read of the same bytes just before, so
// that the ratio is of two numbers taken side by side (counters read_GBps,
// validate_over_read); the benchmark's own time is the validation's.
void Validate(benchmark::State& state, EntryMix mix) {
  const FullDirectory& fd = GetFullDirectory(mix);
  const ImageView view = fd.image.View();
  Decoder decoder;
  const DecodeResult& full = decoder.Decode(view);
  if (!full.ok() || full.handoff.iommu->devices.size() != 1) {
    state.SkipWithError("the full-directory image does not decode");
    return;
  }
  const IommuModel& iommu = *full.handoff.iommu;
  const IommuDevice& device = iommu.devices[0];
  Options options;
  ImageReader reader(view);
  Path path;
  Diagnostics diag(options);
  WorkMeter work;
  PreservedMemory fresh, memory;
  for (const PreservedMemory::Entry& e : full.memory.entries()) fresh.Add(e.pa, e.order);
  fresh.Finalize(reader, path, diag);
  memory = fresh;
  DecodeScratch scratch;
  DecodeContext ctx{reader, options, path, diag, work, memory, &scratch};
  const PasidAttachment att{iommu.DomainOf(device), device.attachment_id};
  PasidState pasid;
  using Clock = std::chrono::steady_clock;
  double read_s = 0, validate_s = 0;
  for (auto _ : state) {
    memory = fresh;
    diag.Reset(options);
    work.Reset(WorkBudget(view.total_bytes()));
    uint64_t tables_seen = 0;
    const Clock::time_point t0 = Clock::now();
    benchmark::DoNotOptimize(ReadAll(fd));
    const Clock::time_point t1 = Clock::now();
    const bool ok = DecodePasid(fd.dir_pa, fd.max_pasid, PasidPolicy::kAllPresent, att, ctx,
                                &tables_seen, &pasid);
    const Clock::time_point t2 = Clock::now();
    if (!ok || !diag.ok() || pasid.tables.size() != fd.tables.size()) {
      state.SkipWithError("PASID validation failed");
      break;
    }
    read_s += std::chrono::duration<double>(t1 - t0).count();
    validate_s += std::chrono::duration<double>(t2 - t1).count();
    state.SetIterationTime(std::chrono::duration<double>(t2 - t1).count());
  }
  const double bytes = static_cast<double>(state.iterations()) * static_cast<double>(fd.bytes());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["read_GBps"] = read_s > 0 ? bytes / read_s / 1e9 : 0;
  state.counters["validate_over_read"] = validate_s > 0 ? read_s / validate_s : 0;
}

void DecodeWhole(benchmark::State& state, EntryMix mix) {
  const FullDirectory& fd = GetFullDirectory(mix);
  const ImageView view = fd.image.View();
  Decoder decoder;
  for (auto _ : state) {
    const DecodeResult& r = decoder.Decode(view);
    if (!r.ok()) {
      state.SkipWithError("the full-directory image does not decode");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * view.total_bytes()));
}

void Register() {
  for (EntryMix mix : {EntryMix::kUniform, EntryMix::kMixed}) {
    const std::string m = mix == EntryMix::kUniform ? "uniform" : "mixed";
    benchmark::RegisterBenchmark(("pasid/validate/" + m).c_str(), Validate, mix)
        ->Unit(benchmark::kMillisecond)
        ->UseManualTime();
    benchmark::RegisterBenchmark(("pasid/stream_read/" + m).c_str(), StreamRead, mix)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("pasid/memcpy/" + m).c_str(), Memcpy, mix)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("pasid/decode_handoff/" + m).c_str(), DecodeWhole, mix)
        ->Unit(benchmark::kMillisecond);
  }
}

void Summarize(const Results& results) {
  std::printf(
      "PASID validation vs the streaming-read limit: 64 MiB of entries + 128 KiB directory,"
      " medians.\nvalidate/read: validation and a streaming read of the same bytes timed side"
      " by side in each iteration; the other columns are separate benchmarks of the same run."
      "\n\n");
  std::printf(
      "| entries | validate GB/s | paired read GB/s | validate/read | stream read GB/s |"
      " memcpy GB/s | whole decode GB/s |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const char* m : {"uniform", "mixed"}) {
    const std::string mix = m;
    const Result* v = results.Find("pasid/validate/" + mix);
    const Result* r = results.Find("pasid/stream_read/" + mix);
    const Result* c = results.Find("pasid/memcpy/" + mix);
    const Result* d = results.Find("pasid/decode_handoff/" + mix);
    auto gb = [](const Result* x) { return x ? GBps(x->counter("bytes_per_second")) : 0.0; };
    std::printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", m, gb(v),
                v ? v->counter("read_GBps") : 0.0, v ? v->counter("validate_over_read") : 0.0,
                gb(r), gb(c), gb(d));
  }
}

}  // namespace
}  // namespace khoabi::bench

int main(int argc, char** argv) {
  khoabi::bench::Register();
  return khoabi::bench::RunBenchmarks(argc, argv, khoabi::bench::Summarize);
}
