// report.h: a decoded handoff and its problems, rendered for people (a tree)
// and for machines (JSON; schema in tools/README.md). Used by `khoabi
// inspect` and `khoabi validate`.
#ifndef KHOABI_LIB_REPORT_H_
#define KHOABI_LIB_REPORT_H_

#include <string>

#include "lib/decoder.h"
#include "lib/diagnostics.h"

namespace khoabi {

struct ReportOptions {
  std::string source;            // file name shown in the report
  size_t max_pasids_listed = 8;  // per device, in text output
  bool show_folios = false;      // list every preserved folio (text)
};

// InspectText: the handoff as a tree, then its problems.
std::string InspectText(const DecodeResult& r, const Diagnostics& file_diag,
                        const ReportOptions& options);
// InspectJson: the same as JSON.
std::string InspectJson(const DecodeResult& r, const Diagnostics& file_diag,
                        const ReportOptions& options);

// ProblemsText / ProblemsJson: the problems only (validate), errors first,
// then warnings. `file_diag` holds problems of reading the file.
std::string ProblemsText(const Diagnostics& file_diag, const Diagnostics& diag,
                         const ReportOptions& options);
std::string ProblemsJson(const Diagnostics& file_diag, const Diagnostics& diag,
                         const ReportOptions& options);

// PciName formats a device as segment:bus:device.function.
std::string PciName(uint32_t segment, uint32_t devid);

}  // namespace khoabi

#endif  // KHOABI_LIB_REPORT_H_
