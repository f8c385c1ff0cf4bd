// model_text.h: a readable dump of a handoff model, for test failures and
// debugging (the inspect command has its own, richer rendering).
#ifndef KHOABI_LIB_MODEL_TEXT_H_
#define KHOABI_LIB_MODEL_TEXT_H_

#include <ostream>
#include <string>

#include "lib/handoff.h"

namespace khoabi {

std::string ModelToText(const HandoffModel& m);

// GoogleTest printer.
inline void PrintTo(const HandoffModel& m, std::ostream* os) { *os << "\n" << ModelToText(m); }

}  // namespace khoabi

#endif  // KHOABI_LIB_MODEL_TEXT_H_
