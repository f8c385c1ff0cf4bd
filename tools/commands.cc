#include "tools/commands.h"

namespace khoabi::cli {

std::vector<Command> AllCommands() { return {LayoutCommand()}; }

int RunKhoabi(const std::vector<std::string>& argv, Io& io) { return Run(AllCommands(), argv, io); }

}  // namespace khoabi::cli
