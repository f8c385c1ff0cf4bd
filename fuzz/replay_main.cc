// replay_main: the main() of a fuzz target outside libFuzzer. Runs
// LLVMFuzzerTestOneInput on every file named on the command line, and on
// every file of every directory named (not recursively), in name order.
//
//   tracker_fuzzer crash-1234 fuzz/corpus/tracker
//   handoff_fuzzer --reasons fuzz/corpus/handoff   # which reasons the inputs reach
//   tracker_fuzzer --explain crash-1234              # what the target makes of it
//
// Flags: --expect-inputs fails (exit 1) when no input was found, as a
// regression test over an empty or missing corpus must; --reasons prints the
// reasons of reasons.inc the inputs reached and those they did not; -flags
// (libFuzzer's) are ignored; --explain=TARGET prints DescribeInput for each
// input instead of running it, so libFuzzer command lines work unchanged.
// Exit status: 0, or 1 for unreadable or missing inputs; a failing oracle
// aborts.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "lib/fuzz_support.h"
#include "lib/reason.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace {

bool ReadFile(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// Files to run for `arg`: the file itself, or a directory's regular files.
bool Expand(const std::string& arg, std::vector<std::string>* files) {
  struct stat st;
  if (stat(arg.c_str(), &st) != 0) return false;
  if (!S_ISDIR(st.st_mode)) {
    files->push_back(arg);
    return true;
  }
  DIR* dir = opendir(arg.c_str());
  if (dir == nullptr) return false;
  std::vector<std::string> found;
  while (dirent* e = readdir(dir)) {
    const std::string path = arg + "/" + e->d_name;
    if (e->d_name[0] != '.' && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      found.push_back(path);
    }
  }
  closedir(dir);
  std::sort(found.begin(), found.end());
  files->insert(files->end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  bool expect_inputs = false, reasons = false;
  const khoabi::fuzz::TargetInfo* explain = nullptr;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--expect-inputs") {
      expect_inputs = true;
    } else if (arg == "--reasons") {
      reasons = true;
    } else if (arg.rfind("--explain=", 0) == 0) {
      explain = khoabi::fuzz::FindTarget(arg.substr(10));
      if (explain == nullptr) {
        std::fprintf(stderr, "replay: no target %s\n", arg.c_str() + 10);
        return 1;
      }
    } else if (arg == "--help") {
      std::printf("usage: %s [--expect-inputs] [--reasons] [--explain=TARGET] FILE|DIR...\n",
                  argv[0]);
      return 0;
    } else if (arg[0] == '-') {
      continue;  // a libFuzzer flag
    } else if (!Expand(arg, &files)) {
      std::fprintf(stderr, "replay: cannot read %s\n", arg.c_str());
      return 1;
    }
  }
  if (expect_inputs && files.empty()) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  std::vector<uint8_t> bytes;
  for (const std::string& f : files) {
    if (!ReadFile(f, &bytes)) {
      std::fprintf(stderr, "replay: cannot read %s\n", f.c_str());
      return 1;
    }
    if (explain != nullptr) {
      std::printf("== %s\n%s", f.c_str(),
                  khoabi::fuzz::DescribeInput(explain->target, bytes.data(), bytes.size()).c_str());
      continue;
    }
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("replay: %zu inputs, every oracle held\n", files.size());
  if (reasons) {
    const std::vector<khoabi::Reason> seen = khoabi::fuzz::ReasonsSeen();
    std::printf("reasons reached: %zu of %zu\n", seen.size(), khoabi::AllReasons().size());
    for (const khoabi::ReasonInfo& info : khoabi::AllReasons()) {
      const bool hit = std::find(seen.begin(), seen.end(), info.reason) != seen.end();
      std::printf("  %s %s\n", hit ? "reached    " : "NOT reached", info.name);
    }
  }
  return 0;
}
