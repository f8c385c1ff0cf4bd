// make_golden_kho: writes the golden handoff images of golden_kho_model.h.
//
// Run once, when the golden files were created:
//   bazel run //tests:make_golden_kho -- "$PWD/tests/testdata"
// The files must never be regenerated afterwards: golden_kho_test checks that
// the encoder still produces them byte for byte.
#include <cstdio>
#include <fstream>
#include <string>

#include "lib/elf_image.h"
#include "lib/handoff.h"
#include "tests/golden_kho_model.h"

namespace {

int Write(khoabi::KhoVersion version, const std::string& path) {
  absl::StatusOr<khoabi::HandoffModel> model = khoabi::testing::GoldenKhoModel(version);
  if (!model.ok()) {
    std::fprintf(stderr, "model: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<khoabi::Image> image = khoabi::EncodeHandoff(*model);
  if (!image.ok()) {
    std::fprintf(stderr, "encode: %s\n", std::string(image.status().message()).c_str());
    return 1;
  }
  const std::string bytes = khoabi::WriteElfImage(*image);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return 1;
  }
  std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
  return 0;
}

std::string Basename(const char* path) {
  const std::string p(path);
  return p.substr(p.rfind('/') + 1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: make_golden_kho OUTPUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  return Write(khoabi::KhoVersion::kV1, dir + "/" + Basename(khoabi::testing::kGoldenKhoV1)) |
         Write(khoabi::KhoVersion::kV2, dir + "/" + Basename(khoabi::testing::kGoldenKhoV2));
}
