// test_util.h: shared helpers for khoabi tests.
#ifndef KHOABI_TESTS_TEST_UTIL_H_
#define KHOABI_TESTS_TEST_UTIL_H_

#include <string>

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/diagnostics.h"

namespace khoabi::testing {

#define KHOABI_ASSERT_OK(expr)                \
  do {                                        \
    const auto& _khoabi_s = (expr);           \
    ASSERT_TRUE(_khoabi_s.ok()) << _khoabi_s; \
  } while (0)

#define KHOABI_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  KHOABI_ASSERT_OK_AND_ASSIGN_IMPL(KHOABI_CONCAT(_khoabi_or, __LINE__), lhs, expr)
#define KHOABI_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  ASSERT_TRUE(tmp.ok()) << tmp.status();                 \
  lhs = std::move(tmp).value()
#define KHOABI_CONCAT(a, b) KHOABI_CONCAT_IMPL(a, b)
#define KHOABI_CONCAT_IMPL(a, b) a##b

// Every problem of a decode, one per line.
inline std::string Problems(const Diagnostics& d) {
  std::string out;
  for (const Problem& p : d.problems()) out += p.ToString() + "\n";
  return out;
}

// Errors only.
inline std::string Errors(const Diagnostics& d) {
  std::string out;
  for (const Problem& p : d.problems()) {
    if (p.is_error()) out += p.ToString() + "\n";
  }
  return out;
}

}  // namespace khoabi::testing

#endif  // KHOABI_TESTS_TEST_UTIL_H_
