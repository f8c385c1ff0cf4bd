#include "tools/image_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/find_root.h"

namespace khoabi::cli {

ImageFile::~ImageFile() {
  if (map_ != nullptr) munmap(map_, map_size_);
}

absl::StatusOr<std::unique_ptr<ImageFile>> ImageFile::Open(const std::string& path,
                                                           const Options& options,
                                                           std::optional<uint64_t> root, Io* io) {
  std::unique_ptr<ImageFile> f(new ImageFile());
  f->diag_.Reset(options);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    const std::string msg = absl::StrCat("cannot open ", path, ": ", std::strerror(e));
    return e == ENOENT ? absl::NotFoundError(msg) : absl::PermissionDeniedError(msg);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      f->map_ = p;
      f->map_size_ = static_cast<size_t>(st.st_size);
      f->bytes_ = absl::MakeConstSpan(static_cast<const uint8_t*>(p), f->map_size_);
    }
  }
  if (f->map_ == nullptr) {  // a pipe, or an empty file
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) f->buffer_.append(buf, static_cast<size_t>(n));
    f->bytes_ =
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(f->buffer_.data()), f->buffer_.size());
  }
  close(fd);

  ElfReadOptions elf;
  elf.root_pa = root;
  Diagnostics probe(options);
  f->loaded_ = ReadElfImage(f->bytes_, options, elf, &probe);
  if (root.has_value()) {
    f->root_source_ = absl::StrFormat("root FDT at %#x (given)", *root);
  } else if (f->loaded_.has_root) {
    f->root_source_ = absl::StrFormat("root FDT at %#x (KHO note)", f->loaded_.view.root_pa);
  }
  // A dump without a KHO note: search its memory for the root FDT.
  const bool only_missing_note =
      !probe.ok() && probe.errors() == 1 && probe.first_error()->reason == Reason::kElfNoKhoNote;
  if (only_missing_note) {
    std::vector<RootCandidate> found = FindRootCandidates(f->loaded_.view);
    if (found.size() == 1) {
      f->loaded_.view.root_pa = found[0].pa;
      f->loaded_.has_root = true;
      f->root_source_ = absl::StrFormat(
          "root FDT at %#x (found by search: the file has no KHO note)", found[0].pa);
      Diagnostics clean(options);
      probe = clean;
    } else if (io != nullptr) {
      io->err << "khoabi: " << path << " has no KHO note and a search found " << found.size()
              << " root FDT candidate" << (found.size() == 1 ? "" : "s")
              << (found.empty() ? "" : "; pick one with --root (see 'khoabi find-root')") << "\n";
    }
  }
  f->diag_ = probe;
  return f;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return absl::DataLossError(absl::StrCat("short write to ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot replace ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::optional<uint64_t> ParseU64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end == s.c_str() || *end != '\0' || s[0] == '-') return std::nullopt;
  return static_cast<uint64_t>(v);
}

std::optional<PasidPolicy> ParsePolicy(const std::string& s) {
  if (s == "no-pasid") return PasidPolicy::kNoPasidOnly;
  if (s == "all-present") return PasidPolicy::kAllPresent;
  if (s == "abi-default" || s.empty()) return PasidPolicy::kAbiDefault;
  return std::nullopt;
}

}  // namespace khoabi::cli
