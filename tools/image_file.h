// image_file.h: opening handoff image files for the command line.
//
// Files are mapped read-only (dumps can be many GiB), parsed by the hardened
// ELF reader, and given a root PA: from the KHO note, from --root, or, when
// the file has no KHO note (a kdump vmcore, a QEMU dump), by searching the
// memory for the KHO root FDT.
#ifndef KHOABI_TOOLS_IMAGE_FILE_H_
#define KHOABI_TOOLS_IMAGE_FILE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "lib/diagnostics.h"
#include "lib/elf_image.h"
#include "lib/options.h"
#include "tools/cli.h"

namespace khoabi::cli {

class ImageFile {
 public:
  ~ImageFile();
  ImageFile(const ImageFile&) = delete;
  ImageFile& operator=(const ImageFile&) = delete;

  // Open maps `path` and reads it as an image. kNotFound / kPermissionDenied
  // / kInvalidArgument for I/O problems; problems of the file's contents are
  // in diag(). `root`: use this root PA; nullopt: the KHO note, or a search
  // when there is none (the note says what happened in root_source()).
  static absl::StatusOr<std::unique_ptr<ImageFile>> Open(const std::string& path,
                                                         const Options& options,
                                                         std::optional<uint64_t> root, Io* io);

  const ImageView& view() const { return loaded_.view; }
  const Diagnostics& diag() const { return diag_; }
  absl::Span<const uint8_t> bytes() const { return bytes_; }
  const std::string& root_source() const { return root_source_; }

 private:
  ImageFile() = default;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::string buffer_;  // when the file cannot be mapped
  absl::Span<const uint8_t> bytes_;
  LoadedImage loaded_;
  Diagnostics diag_;
  std::string root_source_;
};

// Reads a whole (small) file.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path);
// Writes a file, replacing it.
absl::Status WriteFile(const std::string& path, const std::string& bytes);

// ParseU64 accepts decimal and 0x-hex.
std::optional<uint64_t> ParseU64(const std::string& s);
// ParsePolicy: "no-pasid", "all-present", "abi-default".
std::optional<PasidPolicy> ParsePolicy(const std::string& s);

}  // namespace khoabi::cli

#endif  // KHOABI_TOOLS_IMAGE_FILE_H_
