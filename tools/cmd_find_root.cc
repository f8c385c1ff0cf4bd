// khoabi find-root: search a memory dump for KHO root FDT candidates.
#include <unistd.h>

#include <ostream>

#include "absl/strings/str_format.h"
#include "lib/find_root.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/image_file.h"

namespace khoabi::cli {
namespace {

int RunFindRoot(const Command& cmd, const Args& args, Io& io) {
  const std::string path = args.positional()[0];
  Options options;
  // Any root will do: only the memory segments are wanted here.
  absl::StatusOr<std::unique_ptr<ImageFile>> file = ImageFile::Open(path, options, 0, nullptr);
  if (!file.ok()) {
    io.err << "khoabi find-root: " << file.status().message() << "\n";
    return kExitUsage;
  }
  if (!(*file)->diag().ok()) {
    io.err << "khoabi find-root: " << path
           << " is not a readable ELF core file: " << (*file)->diag().first_error()->ToString()
           << "\n";
    return kExitUsage;
  }
  const uint64_t total = (*file)->view().total_bytes();
  const bool show_progress = total > (256ull << 20) && isatty(STDERR_FILENO);
  std::vector<RootCandidate> found = FindRootCandidates(
      (*file)->view(),
      show_progress ? std::function<void(uint64_t, uint64_t)>([&io](uint64_t done, uint64_t all) {
        io.err << absl::StrFormat("\rscanned %u of %u MiB", done >> 20, all >> 20);
        if (done == all) io.err << "\n";
      })
                    : nullptr);
  if (args.Has("json")) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const RootCandidate& c : found) {
      j.push_back({{"pa", absl::StrFormat("%#x", c.pa)},
                   {"version", std::string(KhoVersionName(c.version))},
                   {"tracker_root", absl::StrFormat("%#x", c.tracker_root)},
                   {"luo_node", c.has_luo}});
    }
    io.out << j.dump(2) << "\n";
  } else if (args.Has("first")) {
    if (!found.empty()) io.out << absl::StrFormat("%#x\n", found[0].pa);
  } else {
    io.out << absl::StrFormat("%s: %u MiB of memory, %u candidate%s\n", path, total >> 20,
                              found.size(), found.size() == 1 ? "" : "s");
    for (const RootCandidate& c : found) {
      io.out << absl::StrFormat("  %#x  %s  preserved-memory-map %#x  %s\n", c.pa,
                                KhoVersionName(c.version), c.tracker_root,
                                c.has_luo ? "LUO node" : "no LUO node");
    }
    if (!found.empty()) {
      io.out << absl::StrFormat("use: khoabi inspect --root=%#x %s\n", found[0].pa, path);
    }
  }
  return found.empty() ? kExitFindings : kExitOk;
}

}  // namespace

Command FindRootCommand() {
  Command c;
  c.name = "find-root";
  c.synopsis = "find-root [--json|--first] DUMP";
  c.summary = "search an ELF memory dump (kdump vmcore, QEMU dump) for the KHO root FDT";
  c.description =
      "Scans every page of every PT_LOAD segment for a one-page FDT that passes the\n"
      "decoder's FDT checks and is compatible with kho-v1 or kho-v2, and lists the\n"
      "candidates. inspect and validate search by themselves when a file has no KHO note\n"
      "and exactly one candidate exists; otherwise pass --root=PA. Exit status 1 when\n"
      "nothing is found.";
  c.options = {
      {"json", "", "machine-readable output: [{pa, version, tracker_root, luo_node}]", ""},
      {"first", "", "print only the first candidate's PA", ""},
  };
  c.examples =
      "  khoabi find-root /var/crash/vmcore\n"
      "  khoabi inspect --root=$(khoabi find-root --first guest.dump) guest.dump\n";
  c.min_positional = c.max_positional = 1;
  c.run = [c](const Args& a, Io& io) { return RunFindRoot(c, a, io); };
  return c;
}

}  // namespace khoabi::cli
