// khoabi corrupt: apply one named corruption class to a valid image.
#include <ostream>

#include "absl/strings/str_format.h"
#include "lib/corrupt.h"
#include "lib/decoder.h"
#include "tools/commands.h"
#include "tools/image_file.h"

namespace khoabi::cli {
namespace {

int List(Io& io) {
  io.out << absl::StrFormat("%-28s %-7s %-30s %s\n", "CLASS", "LAYER", "EXPECTED REASON",
                            "WHAT IT DOES");
  for (const CorruptionClass& c : CorruptionClasses()) {
    io.out << absl::StrFormat("%-28s %-7s %-30s %s%s\n", c.name, c.layer, ReasonName(c.expected),
                              c.description,
                              c.policy == PasidPolicy::kNoPasidOnly ? " [policy no-pasid]" : "");
  }
  return kExitOk;
}

int RunCorrupt(const Command& cmd, const Args& args, Io& io) {
  if (args.Has("list")) return List(io);
  if (args.positional().size() != 1) return UsageError(io, cmd, "give one IMAGE (or --list)");
  if (!args.Has("class")) return UsageError(io, cmd, "say which class: --class=NAME (see --list)");
  if (!args.Has("output")) return UsageError(io, cmd, "say where to write: -o/--output FILE");
  const CorruptionClass* c = FindCorruption(args.Get("class"));
  if (c == nullptr) {
    return UsageError(
        io, cmd,
        absl::StrFormat("no class \"%s\"; 'khoabi corrupt --list' shows them", args.Get("class")));
  }
  Options options;
  options.pasid_policy = c->policy;
  const std::string path = args.positional()[0];
  absl::StatusOr<std::unique_ptr<ImageFile>> file =
      ImageFile::Open(path, options, std::nullopt, &io);
  if (!file.ok()) {
    io.err << "khoabi corrupt: " << file.status().message() << "\n";
    return kExitUsage;
  }
  Decoder decoder(options);
  const DecodeResult& r = decoder.Decode((*file)->view());
  if (!(*file)->diag().ok() || !r.ok()) {
    io.err << "khoabi corrupt: " << path
           << " is not a valid handoff; corruptions start from a valid one "
              "(see 'khoabi validate "
           << path << "')\n";
    return kExitUsage;
  }
  absl::StatusOr<std::string> out = ApplyCorruption(*c, r.handoff);
  if (!out.ok()) {
    io.err << "khoabi corrupt: class " << c->name << " does not apply to " << path << ": "
           << out.status().message() << "\n";
    return kExitUsage;
  }
  if (absl::Status s = WriteFile(args.Get("output"), *out); !s.ok()) {
    io.err << "khoabi corrupt: " << s.message() << "\n";
    return kExitUsage;
  }
  io.out << absl::StrFormat(
      "wrote %s: %s (%s)\n  a decoder must report %s at %s%s\n", args.Get("output"), c->name,
      c->description, ReasonName(c->expected), c->path[0] ? c->path : "(anywhere)",
      c->policy == PasidPolicy::kNoPasidOnly ? " under --policy=no-pasid" : "");
  return kExitOk;
}

}  // namespace

Command CorruptCommand() {
  Command c;
  c.name = "corrupt";
  c.synopsis = "corrupt IMAGE --class=NAME -o OUT | corrupt --list";
  c.summary = "corrupt a valid image in one named way, to test restore code";
  c.description =
      "Starts from a valid image, changes exactly one thing (one class of corrupt data from\n"
      "the spec: ELF, FDT, LUO, tracker, folio claims, IOMMU records, PASID structures) and\n"
      "writes the result. Each class names the reason a hardened decoder must report, so\n"
      "you can check your own restore code rejects it too.";
  c.options = {
      {"class", "NAME", "the corruption class (see --list)", ""},
      {"output", "FILE", "where to write the corrupted image", "", false, 'o'},
      {"list", "", "list every class with its layer and expected reason", ""},
  };
  c.examples =
      "  khoabi corrupt --list\n"
      "  khoabi corrupt handoff.elf --class=iommu_chain_cycle -o cycle.elf\n"
      "  khoabi validate cycle.elf        # exit 1, reason: iommu_chain_cycle\n";
  c.max_positional = 1;
  c.run = [c](const Args& a, Io& io) { return RunCorrupt(c, a, io); };
  return c;
}

}  // namespace khoabi::cli
