// khoabi layout: print the layout manifest of every ABI record.
#include <ostream>

#include "absl/strings/str_cat.h"
#include "lib/abi_layout.h"
#include "tools/commands.h"

namespace khoabi::cli {

namespace {

int RunLayout(const Args& args, Io& io) {
  const LayoutManifest& builtin = BuiltinManifest();
  LayoutManifest m = builtin;
  if (args.Has("abi")) {
    m.abis.clear();
    m.records.clear();
    for (const std::string& want : args.GetAll("abi")) {
      const AbiVersion* abi = builtin.FindAbi(want);
      if (abi == nullptr) {
        io.err << "khoabi layout: unknown ABI '" << want << "'; known:";
        for (const AbiVersion& a : builtin.abis) {
          io.err << " " << a.id;
          if (!a.alias.empty()) io.err << " (" << a.alias << ")";
        }
        io.err << "\n";
        return kExitUsage;
      }
      m.abis.push_back(*abi);
      for (const RecordLayout* r : builtin.RecordsOf(abi->id)) m.records.push_back(*r);
    }
  }
  io.out << (args.Has("json") ? ManifestToJson(m) : ManifestToText(m));
  return kExitOk;
}

}  // namespace

Command LayoutCommand() {
  Command c;
  c.name = "layout";
  c.synopsis = "layout [--json] [--abi=ID]...";
  c.summary = "print every record of every ABI version: size, fields, offsets";
  c.description =
      "The manifest is computed by the compiler from the headers in abi/ (sizeof,\n"
      "offsetof). Its JSON form is the input of 'khoabi abi-diff' and is checked in as\n"
      "tests/testdata/abi_layout.json: any change to it is an ABI change.";
  c.options = {
      {"json", "", "machine-readable output: {\"abis\": [...], \"records\": [...]}", ""},
      {"abi", "ID", "only this ABI version (id or alias: A, B, kho-v2, ...)", "", true},
  };
  c.examples =
      "  khoabi layout\n"
      "  khoabi layout --abi=A --abi=B\n"
      "  khoabi layout --json > manifest.json\n";
  c.run = RunLayout;
  return c;
}

}  // namespace khoabi::cli
