// elf_image.h: handoff images as ELF64 core files (spec/handoff.md).
//
// A file holds one PT_LOAD per contiguous run of memory (p_paddr = its PA) and
// a PT_NOTE with a note named "KHO" of type 1 whose 8-byte descriptor is the
// PA of the KHO root FDT. This is the layout of a kdump /proc/vmcore and of
// QEMU's dump-guest-memory, so readelf, gdb and crash read these files, and
// real dumps can be inspected.
//
// ReadElfImage is hardened like every other decoder: malformed files are
// reported with a reason (elf_*) and the file offset, never trusted.
#ifndef KHOABI_LIB_ELF_IMAGE_H_
#define KHOABI_LIB_ELF_IMAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "lib/diagnostics.h"
#include "lib/image.h"
#include "lib/options.h"

namespace khoabi {

inline constexpr char kKhoNoteName[] = "KHO";
inline constexpr uint32_t kKhoNoteType = 1;

// WriteElfImage serializes `image` as an ELF64 core file.
std::string WriteElfImage(const Image& image);

// WriteElfSegments is the unchecked form, for tools and tests that need files
// no Image can describe: segments may overlap, and there is one KHO note per
// entry of `root_pas` (none if it is empty).
struct ElfSegment {
  uint64_t pa = 0;
  absl::Span<const uint8_t> bytes;
};
std::string WriteElfSegments(const std::vector<ElfSegment>& segments,
                             const std::vector<uint64_t>& root_pas);

// WriteCompactElfImage serializes `image` with one PT_LOAD per 4 KiB page
// whose file part stops at the page's last non-zero byte (p_filesz <=
// p_memsz; the reader zero-fills the rest), and one PT_LOAD for each run of
// zero pages. Same memory as WriteElfImage, a fraction of the bytes: fuzz
// corpora use it. Falls back to WriteElfImage past 65534 program headers.
std::string WriteCompactElfImage(const Image& image);

// LoadedImage: an image read from a file. `view` refers to the file's bytes
// (which the caller keeps alive) and to `owned` runs: memory zero-filled past
// p_filesz, and PA-contiguous segments that were not contiguous in the file.
struct LoadedImage {
  ImageView view;
  bool has_root = false;  // a KHO note (or the caller) gave the root PA
  std::vector<std::vector<uint8_t>> owned;
};

struct ElfReadOptions {
  // Use this root PA instead of (and without requiring) the KHO note.
  std::optional<uint64_t> root_pa;
};

// ReadElfImage parses `file`. Problems are reported to `diag` with the file
// offset as the PA; the returned image is usable iff diag.ok().
// REQUIRES: `file` outlives the result.
LoadedImage ReadElfImage(absl::Span<const uint8_t> file, const Options& options,
                         const ElfReadOptions& elf_options, Diagnostics* diag);

}  // namespace khoabi

#endif  // KHOABI_LIB_ELF_IMAGE_H_
