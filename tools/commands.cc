#include "tools/commands.h"

namespace khoabi::cli {

std::vector<Command> AllCommands() {
  return {GenCommand(),     InspectCommand(),  ValidateCommand(), CorruptCommand(),
          ExplainCommand(), FindRootCommand(), LayoutCommand(),   AbiDiffCommand()};
}

int RunKhoabi(const std::vector<std::string>& argv, Io& io) { return Run(AllCommands(), argv, io); }

}  // namespace khoabi::cli
