// khoabi: the command line. See `khoabi --help`.
#include <iostream>
#include <string>
#include <vector>

#include "tools/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  khoabi::cli::Io io{std::cout, std::cerr};
  int rc = khoabi::cli::RunKhoabi(args, io);
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "khoabi: error writing output\n";
    return khoabi::cli::kExitUsage;
  }
  return rc;
}
