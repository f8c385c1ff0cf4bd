// cli.h: a small subcommand command-line framework for `khoabi`.
//
// Why not absl flags: they are process-global, so every subcommand would accept
// every other subcommand's flags and share one --help. Each khoabi command
// declares its own options here and gets its own --help, with examples, and a
// clear error for anything it does not know.
//
// Exit codes shared by all commands (see kExit*).
#ifndef KHOABI_TOOLS_CLI_H_
#define KHOABI_TOOLS_CLI_H_

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace khoabi::cli {

inline constexpr int kExitOk = 0;        // success; for checks: valid / no difference
inline constexpr int kExitFindings = 1;  // the input is invalid / a breaking difference
inline constexpr int kExitUsage = 2;     // usage error, unreadable file, I/O error

struct Option {
  std::string name;        // long name without "--"
  std::string value_name;  // e.g. "FILE"; empty for a boolean switch
  std::string help;
  std::string default_value;  // shown in --help; empty for none
  bool repeated = false;      // may be given several times
  char short_name = 0;        // e.g. 'o' for -o
};

class Args {
 public:
  bool Has(absl::string_view name) const;
  // Get returns the last value given, or the option's default.
  std::string Get(absl::string_view name) const;
  const std::vector<std::string>& GetAll(absl::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend class Parser;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> defaults_;
  std::vector<std::string> positional_;
};

struct Io {
  std::ostream& out;
  std::ostream& err;
};

struct Command {
  std::string name;
  std::string synopsis;     // e.g. "inspect [options] IMAGE"
  std::string summary;      // one line
  std::string description;  // paragraphs
  std::vector<Option> options;
  std::string examples;  // lines of shell
  int min_positional = 0;
  int max_positional = 0;  // -1: unbounded
  std::function<int(const Args&, Io&)> run;
};

// Progress: tells the user what a slow command is doing. Phase() prints the
// phase to stderr once the command has run for more than a second (quick runs
// stay quiet), and Done() the total time if anything was printed.
class Progress {
 public:
  Progress(Io& io, const char* command);
  void Phase(const std::string& what);
  void Done();

 private:
  Io& io_;
  const char* command_;
  int64_t start_ns_;
  bool printed_ = false;
};

// Run dispatches argv[1] to a command. `argv` excludes the program name.
int Run(const std::vector<Command>& commands, const std::vector<std::string>& argv, Io& io);

// Usage error helper: prints "khoabi CMD: MESSAGE" and a hint, returns kExitUsage.
int UsageError(Io& io, const Command& cmd, absl::string_view message);

std::string CommandHelp(const Command& cmd);

}  // namespace khoabi::cli

#endif  // KHOABI_TOOLS_CLI_H_
