#include "lib/fdt.h"

#include <libfdt.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace khoabi {
namespace {

constexpr uint32_t kMinVersion = 17;

// Duplicate property names of one node, and duplicate names among its
// children. FDTs here hold a handful of entries; quadratic is fine, and a page
// bounds them anyway.
bool CheckNames(const void* fdt, int node, uint64_t pa, Path& path, Diagnostics& diag) {
  int prop;
  fdt_for_each_property_offset(prop, fdt, node) {
    const char* name;
    int len;
    if (fdt_getprop_by_offset(fdt, prop, &name, &len) == nullptr) continue;
    int other = prop;
    while ((other = fdt_next_property_offset(fdt, other)) >= 0) {
      const char* other_name;
      if (fdt_getprop_by_offset(fdt, other, &other_name, &len) != nullptr &&
          std::strcmp(name, other_name) == 0) {
        diag.Report(Reason::kFdtDuplicateName, path, pa, "property \"%s\" twice", name);
        return false;
      }
    }
  }
  int child;
  fdt_for_each_subnode(child, fdt, node) {
    const char* name = fdt_get_name(fdt, child, nullptr);
    int other = child;
    while ((other = fdt_next_subnode(fdt, other)) >= 0) {
      const char* other_name = fdt_get_name(fdt, other, nullptr);
      if (name != nullptr && other_name != nullptr && std::strcmp(name, other_name) == 0) {
        diag.Report(Reason::kFdtDuplicateName, path, pa, "node \"%s\" twice", name);
        return false;
      }
    }
  }
  return true;
}

}  // namespace

bool CheckFdt(const FdtPage& page, uint64_t pa, const Options& options, Path& path,
              Diagnostics& diag) {
  const void* fdt = page.bytes;
  if (fdt_magic(fdt) != FDT_MAGIC) {
    diag.Report(Reason::kFdtBadHeader, path, pa, "magic %#x, want %#x", fdt_magic(fdt), FDT_MAGIC);
    return false;
  }
  if (fdt_version(fdt) < kMinVersion || fdt_last_comp_version(fdt) > kMinVersion) {
    diag.Report(Reason::kFdtBadHeader, path, pa, "version %u, last compatible version %u",
                fdt_version(fdt), fdt_last_comp_version(fdt));
    return false;
  }
  if (fdt_totalsize(fdt) > kPageSize) {
    diag.Report(Reason::kFdtTooLarge, path, pa, "totalsize %u > %u", fdt_totalsize(fdt),
                static_cast<unsigned>(kPageSize));
    return false;
  }
  if (int err = fdt_check_header(fdt); err != 0) {
    diag.Report(Reason::kFdtBadHeader, path, pa, "%s", fdt_strerror(err));
    return false;
  }
  if (int err = fdt_check_full(fdt, kPageSize); err != 0) {
    diag.Report(Reason::kFdtBadStructure, path, pa, "%s", fdt_strerror(err));
    return false;
  }
  int depth = 0;
  for (int node = 0; node >= 0; node = fdt_next_node(fdt, node, &depth)) {
    if (depth < 0) break;
    if (static_cast<uint32_t>(depth) >= options.max_fdt_depth) {
      diag.Report(Reason::kLimitFdtDepth, path, pa, "nodes nested %d deep", depth + 1);
      return false;
    }
    if (!CheckNames(fdt, node, pa, path, diag)) return false;
  }
  return true;
}

int MatchCompatible(const FdtPage& page, int node, std::initializer_list<const char*> accepted,
                    uint64_t pa, Path& path, Diagnostics& diag) {
  Path::Scope s = path.Enter("compatible");
  int len = 0;
  const char* value = static_cast<const char*>(fdt_getprop(page.bytes, node, "compatible", &len));
  if (value == nullptr) {
    diag.Report(Reason::kMissingProperty, path, pa, "no \"compatible\"");
    return -1;
  }
  if (len == 0 || value[len - 1] != '\0') {
    if (diag.Report(Reason::kFdtUnterminatedString, path, pa, "compatible of %d bytes has no NUL",
                    len)) {
      return -1;
    }
  }
  // Each entry of the string list, up to the property's end.
  for (int at = 0; at < len;) {
    const void* nul = std::memchr(value + at, '\0', static_cast<size_t>(len - at));
    const int end = nul == nullptr ? len : static_cast<int>(static_cast<const char*>(nul) - value);
    absl::string_view entry(value + at, static_cast<size_t>(end - at));
    int index = 0;
    for (const char* want : accepted) {
      if (entry == want) return index;
      ++index;
    }
    at = end + 1;
  }
  // The list as one string, NULs shown as spaces; on the stack, as
  // rejecting must not allocate.
  char shown[61];
  const size_t n = std::min(static_cast<size_t>(len), sizeof shown - 1);
  for (size_t i = 0; i < n; ++i) shown[i] = value[i] == '\0' ? ' ' : value[i];
  shown[n] = '\0';
  diag.Report(Reason::kUnknownCompatible, path, pa, "\"%s\"", shown);
  return -1;
}

bool GetU64Property(const FdtPage& page, int node, const char* name, bool nonzero, uint64_t pa,
                    Path& path, Diagnostics& diag, uint64_t* out) {
  Path::Scope s = path.Enter(name);
  int len = 0;
  const void* value = fdt_getprop(page.bytes, node, name, &len);
  if (value == nullptr) {
    diag.Report(Reason::kMissingProperty, path, pa, "no \"%s\"", name);
    return false;
  }
  if (len != 8) {
    diag.Report(Reason::kBadPropertySize, path, pa, "%d bytes, want 8", len);
    return false;
  }
  std::memcpy(out, value, 8);
  if (nonzero && *out == 0) {
    diag.Report(Reason::kZeroPa, path, pa, "\"%s\" is 0", name);
    return false;
  }
  return true;
}

bool FdtNodeNameMatches(absl::string_view node, absl::string_view wanted) {
  if (node.substr(0, wanted.size()) != wanted) return false;
  if (node.size() == wanted.size()) return true;
  return wanted.find('@') == absl::string_view::npos && node[wanted.size()] == '@';
}

FdtWriter::FdtWriter() : buf_(kPageSize, 0) {
  Check(fdt_create(buf_.data(), static_cast<int>(buf_.size())), "fdt_create");
  Check(fdt_finish_reservemap(buf_.data()), "fdt_finish_reservemap");
}

void FdtWriter::Check(int err, const char* what) {
  if (err != 0 && error_.empty()) error_ = absl::StrCat(what, ": ", fdt_strerror(err));
}

void FdtWriter::BeginNode(const char* name) { Check(fdt_begin_node(buf_.data(), name), name); }

void FdtWriter::EndNode() { Check(fdt_end_node(buf_.data()), "fdt_end_node"); }

void FdtWriter::PropertyString(const char* name, absl::string_view value) {
  std::string s(value);
  Check(fdt_property(buf_.data(), name, s.c_str(), static_cast<int>(s.size() + 1)), name);
}

void FdtWriter::Property(const char* name, const void* value, int len) {
  Check(fdt_property(buf_.data(), name, value, len), name);
}

void FdtWriter::PropertyU64(const char* name, uint64_t value) {
  Check(fdt_property(buf_.data(), name, &value, sizeof value), name);
}

absl::StatusOr<std::vector<uint8_t>> FdtWriter::Finish() && {
  Check(fdt_finish(buf_.data()), "fdt_finish");
  if (!error_.empty()) return absl::InvalidArgumentError(absl::StrCat("building FDT: ", error_));
  return std::move(buf_);
}

}  // namespace khoabi
