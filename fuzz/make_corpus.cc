// make_corpus: writes the seed corpora of lib/fuzz_corpus.h, one file per
// seed, into OUT/<target>/<index>_<label>. fuzz/make_corpus.sh renames them by
// SHA-1 into fuzz/corpus/.
//
//   make_corpus [--valid-only] OUT [TARGET...]
//
// --valid-only writes only the valid handoffs (no corruption classes, no
// option bytes): the seeds to measure what the fuzzer finds by itself.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "lib/fuzz_corpus.h"
#include "lib/fuzz_support.h"

int main(int argc, char** argv) {
  int first = 1;
  bool valid_only = false;
  if (argc > 1 && std::string(argv[1]) == "--valid-only") {
    valid_only = true;
    first = 2;
  }
  if (argc <= first || std::string(argv[first]) == "--help") {
    std::fprintf(stderr, "usage: %s [--valid-only] OUT [TARGET...]\n", argv[0]);
    return argc <= first ? 2 : 0;
  }
  const std::string out = argv[first];
  std::vector<const khoabi::fuzz::TargetInfo*> targets;
  for (int i = first + 1; i < argc; ++i) {
    const khoabi::fuzz::TargetInfo* t = khoabi::fuzz::FindTarget(argv[i]);
    if (t == nullptr) {
      std::fprintf(stderr, "make_corpus: no target %s\n", argv[i]);
      return 2;
    }
    targets.push_back(t);
  }
  if (targets.empty()) {
    for (const khoabi::fuzz::TargetInfo& t : khoabi::fuzz::AllTargets()) targets.push_back(&t);
  }
  mkdir(out.c_str(), 0755);
  for (const khoabi::fuzz::TargetInfo* t : targets) {
    const std::string dir = out + "/" + t->name;
    mkdir(dir.c_str(), 0755);
    std::vector<khoabi::fuzz::Seed> seeds = khoabi::fuzz::SeedsFor(t->target);
    if (valid_only) {
      std::vector<khoabi::fuzz::Seed> valid;
      for (khoabi::fuzz::Seed& s : seeds) {
        if (s.valid) valid.push_back(std::move(s));
      }
      seeds = std::move(valid);
    }
    size_t bytes = 0;
    for (size_t i = 0; i < seeds.size(); ++i) {
      const std::string path = absl::StrFormat("%s/%04d_%s", dir, i, seeds[i].label);
      std::ofstream f(path, std::ios::binary);
      f.write(seeds[i].bytes.data(), static_cast<std::streamsize>(seeds[i].bytes.size()));
      if (!f) {
        std::fprintf(stderr, "make_corpus: cannot write %s\n", path.c_str());
        return 1;
      }
      bytes += seeds[i].bytes.size();
    }
    std::printf("%-12s %4zu seeds, %8zu bytes\n", t->name, seeds.size(), bytes);
  }
  return 0;
}
