// test_util.h: shared helpers for khoabi tests.
#ifndef KHOABI_TESTS_TEST_UTIL_H_
#define KHOABI_TESTS_TEST_UTIL_H_

#include <algorithm>
#include <string>

#include "gtest/gtest.h"
#include "lib/decoder.h"
#include "lib/diagnostics.h"
#include "lib/model_text.h"

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

// ExpectSameModel: a == b, and when not, which part differs.
inline void ExpectSameModel(const HandoffModel& a, const HandoffModel& b) {
  if (a == b) return;
  ADD_FAILURE() << "models differ:\n" << ModelToText(a) << "---\n" << ModelToText(b);
  EXPECT_TRUE(a.kho == b.kho) << "kho differs";
  EXPECT_TRUE(a.luo == b.luo) << "luo differs";
  EXPECT_TRUE(a.blobs == b.blobs) << "blobs differ";
  ASSERT_EQ(a.iommu.has_value(), b.iommu.has_value());
  if (!a.iommu.has_value()) return;
  const IommuModel &x = *a.iommu, &y = *b.iommu;
  EXPECT_TRUE(x.abi == y.abi && x.flb_ser_pa == y.flb_ser_pa && x.flb_count == y.flb_count &&
              x.version == y.version)
      << "iommu header differs";
  EXPECT_TRUE(x.unit_pages == y.unit_pages) << "unit pages differ";
  EXPECT_TRUE(x.domain_pages == y.domain_pages) << "domain pages differ";
  EXPECT_TRUE(x.device_pages == y.device_pages) << "device pages differ";
  for (size_t i = 0; i < std::min(x.units.size(), y.units.size()); ++i) {
    EXPECT_TRUE(x.units[i] == y.units[i]) << "units[" << i << "] differs";
  }
  for (size_t i = 0; i < std::min(x.domains.size(), y.domains.size()); ++i) {
    EXPECT_TRUE(x.domains[i] == y.domains[i]) << "domains[" << i << "] differs";
  }
  for (size_t i = 0; i < std::min(x.devices.size(), y.devices.size()); ++i) {
    EXPECT_TRUE(x.devices[i] == y.devices[i])
        << "devices[" << i << "] differs (PASID state "
        << (x.devices[i].pasid == y.devices[i].pasid ? "equal" : "differs") << ")";
  }
  EXPECT_EQ(x.units.size(), y.units.size());
  EXPECT_EQ(x.domains.size(), y.domains.size());
  EXPECT_EQ(x.devices.size(), y.devices.size());
}

}  // namespace khoabi::testing

#endif  // KHOABI_TESTS_TEST_UTIL_H_
