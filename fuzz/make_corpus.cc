// make_corpus: writes the seed corpora of lib/fuzz_corpus.h, one file per
// seed, into OUT/<target>/<index>_<label>. fuzz/make_corpus.sh renames them by
// SHA-1 into fuzz/corpus/.
//
//   make_corpus OUT [TARGET...]
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "lib/fuzz_corpus.h"
#include "lib/fuzz_support.h"

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: %s OUT [TARGET...]\n", argv[0]);
    return argc < 2 ? 2 : 0;
  }
  const std::string out = argv[1];
  std::vector<const khoabi::fuzz::TargetInfo*> targets;
  for (int i = 2; i < argc; ++i) {
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
    const std::vector<khoabi::fuzz::Seed> seeds = khoabi::fuzz::SeedsFor(t->target);
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
