#include "tools/cli.h"

#include <algorithm>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace khoabi::cli {

Progress::Progress(Io& io, const char* command)
    : io_(io), command_(command), start_ns_(absl::GetCurrentTimeNanos()) {}

void Progress::Phase(const std::string& what) {
  const double s = (absl::GetCurrentTimeNanos() - start_ns_) / 1e9;
  if (s < 1.0) return;
  io_.err << absl::StrFormat("khoabi %s: [%.1fs] %s\n", command_, s, what);
  printed_ = true;
}

void Progress::Done() {
  if (!printed_) return;
  io_.err << absl::StrFormat("khoabi %s: done in %.1fs\n", command_,
                             (absl::GetCurrentTimeNanos() - start_ns_) / 1e9);
}

namespace {
const std::vector<std::string>& Empty() {
  static const auto* const kEmpty = new std::vector<std::string>();
  return *kEmpty;
}
}  // namespace

bool Args::Has(absl::string_view name) const { return values_.find(name) != values_.end(); }

std::string Args::Get(absl::string_view name) const {
  auto it = values_.find(name);
  if (it != values_.end() && !it->second.empty()) return it->second.back();
  auto d = defaults_.find(name);
  return d == defaults_.end() ? std::string() : d->second;
}

const std::vector<std::string>& Args::GetAll(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? Empty() : it->second;
}

class Parser {
 public:
  // Returns an error message, or "" on success.
  static std::string Parse(const Command& cmd, const std::vector<std::string>& argv, Args* args) {
    for (const Option& o : cmd.options) args->defaults_[o.name] = o.default_value;
    bool only_positional = false;
    for (size_t i = 0; i < argv.size(); ++i) {
      std::string a = argv[i];
      if (!only_positional && a.size() >= 2 && a[0] == '-' && a[1] != '-') {
        // A short option: -o FILE or -oFILE.
        auto opt = std::find_if(cmd.options.begin(), cmd.options.end(),
                                [&](const Option& o) { return o.short_name == a[1]; });
        if (opt == cmd.options.end()) return absl::StrCat("unknown option ", a.substr(0, 2));
        a = absl::StrCat("--", opt->name, a.size() > 2 ? "=" + a.substr(2) : "");
      }
      if (only_positional || a == "-" || !absl::StartsWith(a, "--")) {
        args->positional_.push_back(a);
        continue;
      }
      if (a == "--") {
        only_positional = true;
        continue;
      }
      std::string name = a.substr(2);
      std::string value;
      bool has_value = false;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      auto opt = std::find_if(cmd.options.begin(), cmd.options.end(),
                              [&](const Option& o) { return o.name == name; });
      if (opt == cmd.options.end()) return absl::StrCat("unknown option --", name);
      if (opt->value_name.empty()) {
        if (has_value) return absl::StrCat("option --", name, " takes no value");
        args->values_[name].push_back("true");
        continue;
      }
      if (!has_value) {
        if (i + 1 >= argv.size()) {
          return absl::StrCat("option --", name, " needs a value (", opt->value_name, ")");
        }
        value = argv[++i];
      }
      auto& slot = args->values_[name];
      if (!opt->repeated && !slot.empty()) {
        return absl::StrCat("option --", name, " given more than once");
      }
      slot.push_back(value);
    }
    const int n = static_cast<int>(args->positional_.size());
    if (n < cmd.min_positional) return "missing argument";
    if (cmd.max_positional >= 0 && n > cmd.max_positional) {
      return absl::StrCat("unexpected argument '", args->positional_[cmd.max_positional], "'");
    }
    return "";
  }
};

std::string CommandHelp(const Command& cmd) {
  std::string out = absl::StrCat("usage: khoabi ", cmd.synopsis, "\n\n", cmd.summary, "\n");
  if (!cmd.description.empty()) absl::StrAppend(&out, "\n", cmd.description, "\n");
  absl::StrAppend(&out, "\noptions:\n");
  std::vector<Option> opts = cmd.options;
  opts.push_back({"help", "", "show this help and exit", ""});
  for (const Option& o : opts) {
    std::string left = o.short_name
                           ? absl::StrCat("-", std::string(1, o.short_name), ", --", o.name)
                           : absl::StrCat("    --", o.name);
    if (!o.value_name.empty()) absl::StrAppend(&left, "=", o.value_name);
    std::string help = o.help;
    if (!o.default_value.empty()) absl::StrAppend(&help, " (default: ", o.default_value, ")");
    if (o.repeated) absl::StrAppend(&help, " (repeatable)");
    absl::StrAppendFormat(&out, "  %-28s %s\n", left, help);
  }
  if (!cmd.examples.empty()) absl::StrAppend(&out, "\nexamples:\n", cmd.examples);
  absl::StrAppend(&out,
                  "\nexit status: 0 success, 1 invalid input or breaking difference found,"
                  " 2 usage or I/O error\n");
  return out;
}

int UsageError(Io& io, const Command& cmd, absl::string_view message) {
  io.err << "khoabi " << cmd.name << ": " << message << "\n"
         << "usage: khoabi " << cmd.synopsis << "\n"
         << "Try 'khoabi " << cmd.name << " --help' for more.\n";
  return kExitUsage;
}

namespace {
std::string MainHelp(const std::vector<Command>& commands) {
  std::string out =
      "usage: khoabi COMMAND [options] [args]\n\n"
      "khoabi: reference toolkit for the Linux Kexec HandOver (KHO) serialization ABI\n"
      "and the IOMMU live-update records.\n\ncommands:\n";
  for (const Command& c : commands) absl::StrAppendFormat(&out, "  %-12s %s\n", c.name, c.summary);
  absl::StrAppend(&out,
                  "\n'khoabi COMMAND --help' shows a command's options and examples.\n"
                  "exit status: 0 success, 1 invalid input or breaking difference found,"
                  " 2 usage or I/O error\n");
  return out;
}
}  // namespace

int Run(const std::vector<Command>& commands, const std::vector<std::string>& argv, Io& io) {
  if (argv.empty()) {
    io.err << MainHelp(commands);
    return kExitUsage;
  }
  if (argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
    if (argv[0] == "help" && argv.size() > 1) {
      for (const Command& c : commands) {
        if (c.name == argv[1]) {
          io.out << CommandHelp(c);
          return kExitOk;
        }
      }
    }
    io.out << MainHelp(commands);
    return kExitOk;
  }
  for (const Command& c : commands) {
    if (c.name != argv[0]) continue;
    std::vector<std::string> rest(argv.begin() + 1, argv.end());
    if (std::find(rest.begin(), rest.end(), "--help") != rest.end() ||
        std::find(rest.begin(), rest.end(), "-h") != rest.end()) {
      io.out << CommandHelp(c);
      return kExitOk;
    }
    Args args;
    std::string error = Parser::Parse(c, rest, &args);
    if (!error.empty()) return UsageError(io, c, error);
    return c.run(args, io);
  }
  io.err << "khoabi: unknown command '" << argv[0] << "'\n"
         << "Try 'khoabi --help' for the list of commands.\n";
  return kExitUsage;
}

}  // namespace khoabi::cli
