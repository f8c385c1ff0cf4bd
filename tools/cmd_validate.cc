// khoabi validate / inspect: decode an image as a restoring kernel would.
#include <ostream>

#include "lib/decoder.h"
#include "lib/report.h"
#include "tools/commands.h"
#include "tools/decode_flags.h"
#include "tools/image_file.h"

namespace khoabi::cli {
namespace {

int OpenError(Io& io, const absl::Status& s) {
  io.err << "khoabi: " << s.message() << "\n";
  return kExitUsage;
}

int Run(const Command& cmd, const Args& args, Io& io, bool inspect) {
  Options options;
  std::optional<uint64_t> root;
  if (!ParseDecodeFlags(cmd, args, io, &options, &root)) return kExitUsage;
  const std::string path = args.positional()[0];
  absl::StatusOr<std::unique_ptr<ImageFile>> file = ImageFile::Open(path, options, root, &io);
  if (!file.ok()) return OpenError(io, file.status());
  Progress progress(io, inspect ? "inspect" : "validate");
  progress.Phase("mapped; decoding");
  Decoder decoder(options);
  DecodeResult empty;
  const DecodeResult& r = (*file)->diag().ok() ? decoder.Decode((*file)->view()) : empty;
  progress.Phase("decoded");
  progress.Done();
  ReportOptions ro;
  ro.source = path;
  ro.show_folios = args.Has("folios");
  const bool json = args.Has("json");
  if (inspect) {
    io.out << (json ? InspectJson(r, (*file)->diag(), ro) : InspectText(r, (*file)->diag(), ro));
  } else {
    io.out << (json ? ProblemsJson((*file)->diag(), r.diag, ro)
                    : ProblemsText((*file)->diag(), r.diag, ro));
  }
  if (!json && !(*file)->root_source().empty() && args.Has("verbose")) {
    io.err << "khoabi: " << (*file)->root_source() << "\n";
  }
  return (*file)->diag().ok() && r.ok() ? kExitOk : kExitFindings;
}

}  // namespace

Command ValidateCommand() {
  Command c;
  c.name = "validate";
  c.synopsis = "validate [options] IMAGE";
  c.summary = "check a handoff image as a hardened restoring kernel would";
  c.description =
      "Decodes the whole restore path (KHO root FDT, tracker, LUO FDT, FLB header, IOMMU\n"
      "records, PASID directories and tables), claims every folio a record points at, and\n"
      "prints every problem found up to --max-problems: errors first, then warnings, each\n"
      "with its reason (see 'khoabi explain'), record path and physical address.\n"
      "IMAGE is an ELF core file (khoabi gen, a kdump vmcore, QEMU dump-guest-memory).";
  c.options = DecodeFlagOptions();
  c.options.push_back({"json", "", "machine-readable output (schema in tools/README.md)", ""});
  c.options.push_back({"verbose", "", "say where the root PA came from", ""});
  c.examples =
      "  khoabi validate handoff.elf\n"
      "  khoabi validate --policy=no-pasid --abi=B handoff.elf\n"
      "  khoabi validate --json --max-problems=1000 handoff.elf | jq .problems\n";
  c.min_positional = c.max_positional = 1;
  c.run = [c](const Args& a, Io& io) { return Run(c, a, io, /*inspect=*/false); };
  return c;
}

Command InspectCommand() {
  Command c;
  c.name = "inspect";
  c.synopsis = "inspect [options] IMAGE";
  c.summary = "show a handoff image as a tree: layers, folios, units, domains, devices, PASIDs";
  c.description =
      "Decodes IMAGE like 'validate' and shows what it holds: KHO version and tracker, the\n"
      "LUO FDT and FLB entries, the IOMMU ABI, units, domains and devices, and per device\n"
      "its PASID directory and the PASIDs present (PGTT, DID). Problems come first.\n"
      "Exit status 1 when the image is invalid (what could be decoded is still shown).";
  c.options = DecodeFlagOptions();
  c.options.push_back({"json", "", "machine-readable output (schema in tools/README.md)", ""});
  c.options.push_back({"folios", "", "list every preserved folio", ""});
  c.options.push_back({"verbose", "", "say where the root PA came from", ""});
  c.examples =
      "  khoabi inspect handoff.elf\n"
      "  khoabi inspect --json handoff.elf | jq '.iommu.devices[].pasid'\n"
      "  khoabi inspect --root=0x1000000 vmcore\n";
  c.min_positional = c.max_positional = 1;
  c.run = [c](const Args& a, Io& io) { return Run(c, a, io, /*inspect=*/true); };
  return c;
}

}  // namespace khoabi::cli
