// commands.h: the khoabi subcommands. Each is a thin layer over //lib.
#ifndef KHOABI_TOOLS_COMMANDS_H_
#define KHOABI_TOOLS_COMMANDS_H_

#include <string>
#include <vector>

#include "tools/cli.h"

namespace khoabi::cli {

Command GenCommand();
Command InspectCommand();
Command ValidateCommand();
Command CorruptCommand();
Command ExplainCommand();
Command FindRootCommand();
Command LayoutCommand();
Command AbiDiffCommand();

// AllCommands returns every command, in the order `khoabi --help` lists them.
std::vector<Command> AllCommands();

// RunKhoabi runs the khoabi command line (argv without the program name).
int RunKhoabi(const std::vector<std::string>& argv, Io& io);

}  // namespace khoabi::cli

#endif  // KHOABI_TOOLS_COMMANDS_H_
