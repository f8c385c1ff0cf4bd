// khoabi abi-diff: compare layout manifests, in the spirit of the kernel's
// scripts/check-uapi.sh.
#include <ostream>

#include "absl/strings/match.h"
#include "lib/abi_layout.h"
#include "lib/layout_diff.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/image_file.h"

namespace khoabi::cli {
namespace {

// A side of the comparison: a manifest, and maybe one ABI of it.
struct Side {
  LayoutManifest manifest;
  const AbiVersion* abi = nullptr;
  std::string label;
};

bool Resolve(const std::string& spec, Side* side, Io& io) {
  side->label = spec;
  const LayoutManifest& builtin = BuiltinManifest();
  if (spec == "builtin") {
    side->manifest = builtin;
    return true;
  }
  if (const AbiVersion* a = builtin.FindAbi(spec); a != nullptr) {
    side->manifest = builtin;
    side->abi = side->manifest.FindAbi(spec);
    return true;
  }
  // FILE or FILE:ABI
  std::string path = spec, abi;
  if (size_t colon = spec.rfind(':');
      colon != std::string::npos && colon + 1 < spec.size() && !absl::EndsWith(spec, ".json")) {
    path = spec.substr(0, colon);
    abi = spec.substr(colon + 1);
  }
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) {
    io.err << "khoabi abi-diff: '" << spec
           << "' is neither a built-in ABI (khoabi layout lists them) nor a readable manifest: "
           << text.status().message() << "\n";
    return false;
  }
  absl::StatusOr<LayoutManifest> m = ManifestFromJson(*text);
  if (!m.ok()) {
    io.err << "khoabi abi-diff: " << path << ": " << m.status().message() << "\n";
    return false;
  }
  side->manifest = *std::move(m);
  if (!abi.empty()) {
    side->abi = side->manifest.FindAbi(abi);
    if (side->abi == nullptr) {
      io.err << "khoabi abi-diff: " << path << " has no ABI '" << abi << "'\n";
      return false;
    }
  }
  return true;
}

int RunAbiDiff(const Command& cmd, const Args& args, Io& io) {
  Side old_side, new_side;
  if (!Resolve(args.positional()[0], &old_side, io) ||
      !Resolve(args.positional()[1], &new_side, io)) {
    return kExitUsage;
  }
  const std::string fail_on = args.Get("fail-on");
  if (fail_on != "contract" && fail_on != "breaking" && fail_on != "any") {
    return UsageError(io, cmd, "--fail-on must be contract, breaking or any");
  }
  std::vector<AbiDiff> diffs;
  if (old_side.abi != nullptr || new_side.abi != nullptr) {
    const AbiVersion* a =
        old_side.abi != nullptr ? old_side.abi : old_side.manifest.FindAbi(new_side.abi->id);
    const AbiVersion* b =
        new_side.abi != nullptr ? new_side.abi : new_side.manifest.FindAbi(old_side.abi->id);
    if (a == nullptr || b == nullptr) {
      io.err << "khoabi abi-diff: the other side has no ABI of that id; name both ABIs\n";
      return kExitUsage;
    }
    diffs.push_back(DiffAbi(old_side.manifest, *a, new_side.manifest, *b));
  } else {
    diffs = DiffManifests(old_side.manifest, new_side.manifest);
  }
  bool fail = false;
  for (const AbiDiff& d : diffs) {
    if (fail_on == "contract") fail |= !d.Ok();
    if (fail_on == "breaking") {
      fail |=
          d.verdict == Verdict::kBreakingSameVersion || d.verdict == Verdict::kBreakingNewVersion;
    }
    if (fail_on == "any") fail |= d.verdict != Verdict::kIdentical;
  }
  if (args.Has("json")) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const AbiDiff& d : diffs) {
      nlohmann::ordered_json records = nlohmann::ordered_json::array();
      for (const RecordDiff& r : d.records) {
        records.push_back({{"struct", r.struct_name},
                           {"compat", std::string(CompatName(r.compat))},
                           {"changes", r.changes}});
      }
      j.push_back({{"old", d.old_abi.id},
                   {"new", d.new_abi.id},
                   {"verdict", std::string(VerdictName(d.verdict))},
                   {"compatible_changed", d.compatible_changed},
                   {"version_changed", d.version_changed},
                   {"records", std::move(records)}});
    }
    io.out << j.dump(2) << "\n";
  } else {
    for (const AbiDiff& d : diffs) {
      if (d.verdict == Verdict::kIdentical && !args.Has("verbose")) continue;
      io.out << FormatAbiDiff(d);
    }
    size_t identical = 0;
    for (const AbiDiff& d : diffs) identical += d.verdict == Verdict::kIdentical;
    io.out << diffs.size() << " ABI version" << (diffs.size() == 1 ? "" : "s") << " compared, "
           << identical << " identical: " << (fail ? "FAIL" : "ok") << " (--fail-on=" << fail_on
           << ")\n";
  }
  return fail ? kExitFindings : kExitOk;
}

}  // namespace

Command AbiDiffCommand() {
  Command c;
  c.name = "abi-diff";
  c.synopsis = "abi-diff [options] OLD NEW";
  c.summary = "compare two layout manifests (or built-in ABI versions) record by record";
  c.description =
      "OLD and NEW are each a built-in ABI version (A, B, kho-v1, ... as 'khoabi layout'\n"
      "lists them), 'builtin' for all of them, a manifest file written by 'khoabi layout\n"
      "--json', or FILE:ABI for one ABI of a file. Each record comes out identical,\n"
      "compatible (only additions in reserved bytes, renames) or breaking, and each ABI\n"
      "pair gets a verdict: identical, compatible, breaking-with-version-bump, or\n"
      "breaking-without-version-bump, which breaks the kernel's contract (a serialized\n"
      "layout never changes under the same compatible string and version).\n"
      "Exit status: 1 when --fail-on is met, 0 otherwise.";
  c.options = {
      {"fail-on", "WHAT",
       "contract: a breaking change without a new version; breaking: any breaking change; "
       "any: any difference",
       "contract"},
      {"json", "", "machine-readable output", ""},
      {"verbose", "", "also list identical ABI versions", ""},
  };
  c.examples =
      "  khoabi abi-diff A B                   # breaking-with-version-bump, exit 0\n"
      "  khoabi layout --json > new.json && khoabi abi-diff tests/testdata/abi_layout.json "
      "new.json\n"
      "  khoabi abi-diff --fail-on=breaking old.json:B new.json:B\n";
  c.min_positional = c.max_positional = 2;
  c.run = [c](const Args& a, Io& io) { return RunAbiDiff(c, a, io); };
  return c;
}

}  // namespace khoabi::cli
