// Writes the IOMMU golden images (tests/golden_iommu_scenarios.h) into a
// directory. Run once when a new golden image is added:
//   bazel run //tests:make_golden_iommu -- $PWD/tests/testdata
// Existing files are never overwritten.
#include <sys/stat.h>

#include <fstream>
#include <iostream>

#include "lib/elf_image.h"
#include "tests/golden_iommu_scenarios.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_golden_iommu DIR\n";
    return 2;
  }
  for (const auto& g : khoabi::testing::GoldenIommuImages()) {
    const std::string path = std::string(argv[1]) + "/" + g.file;
    struct stat st;
    if (stat(path.c_str(), &st) == 0) {
      std::cout << "keeping " << path << " (golden files are never rewritten)\n";
      continue;
    }
    absl::StatusOr<khoabi::HandoffModel> m = khoabi::BuildScenario(g.scenario);
    if (!m.ok()) {
      std::cerr << g.file << ": " << m.status() << "\n";
      return 1;
    }
    absl::StatusOr<khoabi::Image> image = khoabi::EncodeHandoff(*m);
    if (!image.ok()) {
      std::cerr << g.file << ": " << image.status() << "\n";
      return 1;
    }
    std::ofstream(path, std::ios::binary) << khoabi::WriteElfImage(*image);
    std::cout << "wrote " << path << "\n";
  }
  return 0;
}
