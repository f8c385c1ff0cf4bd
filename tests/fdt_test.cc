// The FDT layers (spec/handoff.md, "FDT layers"; validation.md, "ELF and
// FDT"): CheckFdt's header, size, structure, duplicate-name and depth checks
// on FDTs built with libfdt and then corrupted; MatchCompatible over string
// lists; KHO's raw little-endian u64 properties. Every FDT our encoders write
// must also be one that dtc accepts.
#include "lib/fdt.h"

#include <libfdt.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "abi/kexec_handover.h"
#include "abi/luo.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "lib/handoff_builder.h"
#include "lib/kho.h"
#include "lib/luo.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

constexpr uint64_t kPa = 0xabc000;

// --- Building FDTs ---------------------------------------------------------

FdtPage ToPage(const std::vector<uint8_t>& bytes) {
  FdtPage page{};
  std::memcpy(page.bytes, bytes.data(), std::min<size_t>(bytes.size(), kPageSize));
  return page;
}

// An FDT built with libfdt's sequential-write API: `body` adds properties
// and sub-nodes of the root.
FdtPage Raw(const std::function<void(void*)>& body) {
  FdtPage page{};
  void* fdt = page.bytes;
  EXPECT_EQ(fdt_create(fdt, kPageSize), 0);
  EXPECT_EQ(fdt_finish_reservemap(fdt), 0);
  EXPECT_EQ(fdt_begin_node(fdt, ""), 0);
  body(fdt);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_finish(fdt), 0);
  return page;
}

void Prop(void* fdt, const char* name, const std::string& bytes) {
  EXPECT_EQ(fdt_property(fdt, name, bytes.data(), static_cast<int>(bytes.size())), 0);
}

// A typical valid FDT: a root with a compatible and a u64, one sub-node.
FdtPage Valid() {
  FdtWriter w;
  w.BeginNode("");
  w.PropertyString("compatible", "kho-v2");
  w.PropertyU64("preserved-memory-map", 0x100000000);
  w.BeginNode("LUO");
  w.PropertyU64("preserved-data", 0x100001000);
  w.EndNode();
  w.EndNode();
  absl::StatusOr<std::vector<uint8_t>> bytes = std::move(w).Finish();
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return ToPage(*bytes);
}

uint32_t HeaderField(const FdtPage& p, size_t offset) {
  uint32_t be;
  std::memcpy(&be, p.bytes + offset, 4);
  return fdt32_to_cpu(be);
}
void SetHeaderField(FdtPage& p, size_t offset, uint32_t value) {
  const uint32_t be = cpu_to_fdt32(value);
  std::memcpy(p.bytes + offset, &be, 4);
}
constexpr size_t kMagic = 0, kTotalSize = 4, kOffStruct = 8, kOffStrings = 12, kVersion = 20,
                 kLastComp = 24;

// The struct-block offsets of every tag, in order, with their tags.
std::vector<std::pair<uint32_t, int>> Tags(const FdtPage& p) {
  std::vector<std::pair<uint32_t, int>> out;
  int offset = 0, next = 0;
  for (;;) {
    const uint32_t tag = fdt_next_tag(p.bytes, offset, &next);
    out.push_back({tag, offset});
    if (tag == FDT_END || next < 0) break;
    offset = next;
  }
  return out;
}

void SetStructU32(FdtPage& p, int struct_offset, uint32_t value) {
  const uint32_t be = cpu_to_fdt32(value);
  std::memcpy(p.bytes + HeaderField(p, kOffStruct) + struct_offset, &be, 4);
}

// --- Checking ----------------------------------------------------------------

struct Checked {
  Diagnostics diag;
  bool ok = false;
};

Checked Check(const FdtPage& page, const Options& options = {}) {
  Checked c;
  c.diag.Reset(options);
  Path path;
  Path::Scope s = path.Enter("kho");
  Path::Scope t = path.Enter("root_fdt");
  c.ok = CheckFdt(page, kPa, options, path, c.diag);
  EXPECT_EQ(c.ok, c.diag.ok()) << Problems(c.diag);
  return c;
}

void ExpectRejected(const Checked& c, Reason want) {
  EXPECT_FALSE(c.ok);
  ASSERT_NE(c.diag.first_error(), nullptr);
  EXPECT_EQ(c.diag.first_error()->reason, want) << Problems(c.diag);
  EXPECT_STREQ(c.diag.first_error()->path, "kho.root_fdt");
  EXPECT_EQ(c.diag.first_error()->pa, kPa);
}

TEST(CheckFdt, AcceptsWhatFdtWriterBuilds) {
  Checked c = Check(Valid());
  EXPECT_TRUE(c.ok) << Problems(c.diag);
  EXPECT_TRUE(c.diag.problems().empty());
}

TEST(CheckFdt, BadMagic) {
  FdtPage p = Valid();
  SetHeaderField(p, kMagic, 0xd00dfeee);
  ExpectRejected(Check(p), Reason::kFdtBadHeader);
  FdtPage zero{};  // a page of zeros
  ExpectRejected(Check(zero), Reason::kFdtBadHeader);
}

TEST(CheckFdt, VersionBelow17) {
  for (uint32_t v : {16u, 2u, 0u}) {
    FdtPage p = Valid();
    SetHeaderField(p, kVersion, v);
    SetHeaderField(p, kLastComp, std::min(v, 16u));
    ExpectRejected(Check(p), Reason::kFdtBadHeader);
  }
}

TEST(CheckFdt, LastCompatibleVersionAbove17) {
  FdtPage p = Valid();
  SetHeaderField(p, kVersion, 18);
  SetHeaderField(p, kLastComp, 18);
  ExpectRejected(Check(p), Reason::kFdtBadHeader);
}

TEST(CheckFdt, NewerVersionCompatibleWith17IsAccepted) {
  FdtPage p = Valid();
  SetHeaderField(p, kVersion, 18);
  SetHeaderField(p, kLastComp, 16);
  EXPECT_TRUE(Check(p).ok);
}

TEST(CheckFdt, TotalsizeBeyondThePage) {
  for (uint32_t size : {4097u, 8192u, 0xffffffffu}) {
    FdtPage p = Valid();
    SetHeaderField(p, kTotalSize, size);
    ExpectRejected(Check(p), Reason::kFdtTooLarge);
  }
  FdtPage exactly = Valid();
  SetHeaderField(exactly, kTotalSize, 4096);
  EXPECT_TRUE(Check(exactly).ok) << Problems(Check(exactly).diag);
}

TEST(CheckFdt, BlocksOutsideTotalsize) {
  FdtPage strings_out = Valid();
  SetHeaderField(strings_out, kOffStrings, HeaderField(strings_out, kTotalSize));
  ExpectRejected(Check(strings_out), Reason::kFdtBadHeader);

  FdtPage truncated = Valid();  // the header claims less than the blocks need
  SetHeaderField(truncated, kTotalSize, HeaderField(truncated, kTotalSize) - 8);
  ExpectRejected(Check(truncated), Reason::kFdtBadHeader);
}

TEST(CheckFdt, BrokenStructure) {
  const FdtPage valid = Valid();
  const std::vector<std::pair<uint32_t, int>> tags = Tags(valid);
  ASSERT_EQ(tags.front().first, uint32_t{FDT_BEGIN_NODE});
  ASSERT_EQ(tags.back().first, uint32_t{FDT_END});
  int first_prop = -1;
  for (const auto& [tag, offset] : tags) {
    if (tag == FDT_PROP && first_prop < 0) first_prop = offset;
  }
  ASSERT_GE(first_prop, 0);

  struct Case {
    const char* name;
    int offset;
    uint32_t value;
  };
  for (const Case& c :
       {Case{"unknown_token", first_prop, 0xa}, Case{"no_fdt_end", tags.back().second, FDT_NOP},
        Case{"end_node_for_begin_node", tags.front().second, FDT_END_NODE},
        // A property's name offset past the strings block.
        Case{"bad_name_offset", first_prop + 8, 0x7fff0000},
        // A property whose length runs past the struct block.
        Case{"property_too_long", first_prop + 4, 0x10000}}) {
    SCOPED_TRACE(c.name);
    FdtPage p = valid;
    SetStructU32(p, c.offset, c.value);
    ExpectRejected(Check(p), Reason::kFdtBadStructure);
  }
}

TEST(CheckFdt, TwoRoots) {
  FdtPage p{};
  void* fdt = p.bytes;
  ASSERT_EQ(fdt_create(fdt, kPageSize), 0);
  ASSERT_EQ(fdt_finish_reservemap(fdt), 0);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(fdt_begin_node(fdt, ""), 0);
    ASSERT_EQ(fdt_end_node(fdt), 0);
  }
  ASSERT_EQ(fdt_finish(fdt), 0);
  ExpectRejected(Check(p), Reason::kFdtBadStructure);
}

TEST(CheckFdt, DuplicateProperty) {
  FdtPage p = Raw([](void* fdt) {
    Prop(fdt, "compatible", std::string("kho-v2", 7));
    Prop(fdt, "x", std::string(8, '\1'));
    Prop(fdt, "x", std::string(8, '\2'));
  });
  ExpectRejected(Check(p), Reason::kFdtDuplicateName);
}

TEST(CheckFdt, DuplicateSiblingNodes) {
  FdtPage p = Raw([](void* fdt) {
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(fdt_begin_node(fdt, "LUO"), 0);
      Prop(fdt, "preserved-data", std::string(8, static_cast<char>(i)));
      ASSERT_EQ(fdt_end_node(fdt), 0);
    }
  });
  ExpectRejected(Check(p), Reason::kFdtDuplicateName);
}

TEST(CheckFdt, DuplicatesDeeperDown) {
  FdtPage p = Raw([](void* fdt) {
    ASSERT_EQ(fdt_begin_node(fdt, "a"), 0);
    ASSERT_EQ(fdt_begin_node(fdt, "b"), 0);
    Prop(fdt, "p", "1");
    Prop(fdt, "q", "1");
    Prop(fdt, "p", "2");
    ASSERT_EQ(fdt_end_node(fdt), 0);
    ASSERT_EQ(fdt_end_node(fdt), 0);
  });
  ExpectRejected(Check(p), Reason::kFdtDuplicateName);
}

TEST(CheckFdt, SameNamesUnderDifferentParentsAreFine) {
  FdtPage p = Raw([](void* fdt) {
    for (const char* parent : {"a", "b"}) {
      ASSERT_EQ(fdt_begin_node(fdt, parent), 0);
      Prop(fdt, "x", "1");
      ASSERT_EQ(fdt_begin_node(fdt, "child"), 0);
      ASSERT_EQ(fdt_end_node(fdt), 0);
      ASSERT_EQ(fdt_end_node(fdt), 0);
    }
    Prop(fdt, "x", "1");  // a property may share a name with a node
  });
  Checked c = Check(p);
  EXPECT_TRUE(c.ok) << Problems(c.diag);
}

// An FDT whose root has `nested` levels of sub-nodes below it.
FdtPage Nested(int nested) {
  return Raw([nested](void* fdt) {
    for (int i = 0; i < nested; ++i) ASSERT_EQ(fdt_begin_node(fdt, "n"), 0);
    for (int i = 0; i < nested; ++i) ASSERT_EQ(fdt_end_node(fdt), 0);
  });
}

TEST(CheckFdt, DepthLimit) {
  // max_fdt_depth counts nodes from the root: 8 means the root and 7 below.
  Options o;
  ASSERT_EQ(o.max_fdt_depth, 8u);
  EXPECT_TRUE(Check(Nested(7), o).ok);
  ExpectRejected(Check(Nested(8), o), Reason::kLimitFdtDepth);
  ExpectRejected(Check(Nested(50), o), Reason::kLimitFdtDepth);
  o.max_fdt_depth = 1;
  EXPECT_TRUE(Check(Nested(0), o).ok);
  ExpectRejected(Check(Nested(1), o), Reason::kLimitFdtDepth);
}

// --- MatchCompatible -----------------------------------------------------------

struct Matched {
  Diagnostics diag;
  int index = -2;
};

Matched Match(const std::string& compatible_bytes, const Options& options = {},
              bool with_property = true) {
  FdtPage p = Raw([&](void* fdt) {
    if (with_property) Prop(fdt, "compatible", compatible_bytes);
  });
  Matched m;
  m.diag.Reset(options);
  Path path;
  Path::Scope s = path.Enter("kho");
  EXPECT_TRUE(CheckFdt(p, kPa, options, path, m.diag)) << Problems(m.diag);
  m.index = MatchCompatible(p, 0, {"kho-v1", "kho-v2"}, kPa, path, m.diag);
  return m;
}

void ExpectMatchError(const Matched& m, Reason want) {
  EXPECT_EQ(m.index, -1);
  ASSERT_NE(m.diag.first_error(), nullptr) << Problems(m.diag);
  EXPECT_EQ(m.diag.first_error()->reason, want) << Problems(m.diag);
  EXPECT_STREQ(m.diag.first_error()->path, "kho.compatible");
  EXPECT_EQ(m.diag.first_error()->pa, kPa);
}

TEST(MatchCompatible, SingleString) {
  EXPECT_EQ(Match(std::string("kho-v1\0", 7)).index, 0);
  EXPECT_EQ(Match(std::string("kho-v2\0", 7)).index, 1);
}

TEST(MatchCompatible, AnyEntryOfAStringList) {
  Matched m = Match(std::string("vendor,kho-next\0kho-v2\0", 23));
  EXPECT_EQ(m.index, 1);
  EXPECT_TRUE(m.diag.problems().empty()) << Problems(m.diag);
  // The first accepted entry of the list decides.
  EXPECT_EQ(Match(std::string("kho-v2\0kho-v1\0", 14)).index, 1);
  EXPECT_EQ(Match(std::string("x\0\0kho-v1\0", 10)).index, 0);  // an empty entry is skipped
}

TEST(MatchCompatible, UnknownCompatible) {
  for (const std::string& v :
       {std::string("kho-v3\0", 7), std::string("kho-v\0", 6), std::string("kho-v22\0", 8),
        std::string("KHO-V2\0", 7), std::string("a\0b\0", 4), std::string("\0", 1)}) {
    SCOPED_TRACE(v);
    ExpectMatchError(Match(v), Reason::kUnknownCompatible);
  }
}

TEST(MatchCompatible, MissingCompatible) {
  ExpectMatchError(Match("", Options{}, /*with_property=*/false), Reason::kMissingProperty);
}

TEST(MatchCompatible, UnterminatedIsStrict) {
  ExpectMatchError(Match("kho-v2"), Reason::kFdtUnterminatedString);
  ExpectMatchError(Match(std::string("x\0kho-v2", 8)), Reason::kFdtUnterminatedString);
  ExpectMatchError(Match(""), Reason::kFdtUnterminatedString);  // length 0

  Options lenient;
  lenient.strict = false;
  Matched m = Match("kho-v2", lenient);
  EXPECT_EQ(m.index, 1) << Problems(m.diag);
  EXPECT_TRUE(m.diag.ok());
  EXPECT_TRUE(m.diag.Has(Reason::kFdtUnterminatedString));
  // Lenient, but still unknown.
  Matched unknown = Match("kho-v9", lenient);
  EXPECT_EQ(unknown.index, -1);
  EXPECT_TRUE(unknown.diag.Has(Reason::kUnknownCompatible));
}

// --- GetU64Property ------------------------------------------------------------

struct U64Read {
  Diagnostics diag;
  bool ok = false;
  uint64_t value = 0xdead;
};

U64Read ReadU64(const std::string& bytes, bool nonzero, bool with_property = true) {
  FdtPage p = Raw([&](void* fdt) {
    if (with_property) Prop(fdt, "preserved-memory-map", bytes);
  });
  U64Read r;
  r.diag.Reset(Options{});
  Path path;
  Path::Scope s = path.Enter("kho");
  r.ok = GetU64Property(p, 0, "preserved-memory-map", nonzero, kPa, path, r.diag, &r.value);
  EXPECT_EQ(r.ok, r.diag.ok());
  return r;
}

void ExpectU64Error(const U64Read& r, Reason want) {
  EXPECT_FALSE(r.ok);
  ASSERT_NE(r.diag.first_error(), nullptr);
  EXPECT_EQ(r.diag.first_error()->reason, want) << Problems(r.diag);
  EXPECT_STREQ(r.diag.first_error()->path, "kho.preserved-memory-map");
  EXPECT_EQ(r.diag.first_error()->pa, kPa);
}

TEST(GetU64Property, ReadsEightRawLittleEndianBytes) {
  U64Read r = ReadU64(std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8), true);
  ASSERT_TRUE(r.ok) << Problems(r.diag);
  EXPECT_EQ(r.value, 0x0807060504030201u);  // not the FDT's big-endian cells
}

TEST(GetU64Property, Missing) {
  ExpectU64Error(ReadU64("", true, false), Reason::kMissingProperty);
}

TEST(GetU64Property, NotEightBytes) {
  for (size_t n : {size_t{0}, size_t{4}, size_t{7}, size_t{9}, size_t{16}}) {
    SCOPED_TRACE(n);
    ExpectU64Error(ReadU64(std::string(n, '\1'), false), Reason::kBadPropertySize);
  }
}

TEST(GetU64Property, ZeroOnlyWhenAPaIsRequired) {
  ExpectU64Error(ReadU64(std::string(8, '\0'), true), Reason::kZeroPa);
  U64Read r = ReadU64(std::string(8, '\0'), false);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.value, 0u);
}

TEST(FdtWriter, PropertyU64IsNativeEndianAndFinishFitsAPage) {
  FdtPage p = Valid();
  int len = 0;
  const void* v = fdt_getprop(p.bytes, 0, "preserved-memory-map", &len);
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(len, 8);
  uint64_t raw;
  std::memcpy(&raw, v, 8);
  EXPECT_EQ(raw, 0x100000000u);
  EXPECT_LE(fdt_totalsize(p.bytes), kPageSize);
}

TEST(FdtWriter, ReportsAnFdtThatDoesNotFitAPage) {
  FdtWriter w;
  w.BeginNode("");
  for (int i = 0; i < 300; ++i) w.PropertyU64(("p" + std::to_string(i)).c_str(), i);
  w.EndNode();
  EXPECT_EQ(std::move(w).Finish().status().code(), absl::StatusCode::kInvalidArgument);
}

// --- dtc accepts every FDT our encoders write --------------------------------------

std::pair<std::string, int> RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {"popen failed", -1};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// Decompiles `page` with dtc; returns the dts text.
std::string Dtc(const std::vector<uint8_t>& page, const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name + ".dtb";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(page.data()),
              static_cast<std::streamsize>(page.size()));
  }
  auto [text, status] = RunCommand("dtc -I dtb -O dts " + path);
  EXPECT_EQ(status, 0) << text;
  return text;
}

// The value of a u64 property as dtc prints it ("name = <0xhi 0xlo>;", two
// big-endian cells over our little-endian bytes), turned back into the u64.
uint64_t DtsU64(const std::string& dts, const std::string& name) {
  const size_t at = dts.find("\t" + name + " = <");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no " << name << " in\n" << dts;
    return 0;
  }
  const size_t begin = dts.find('<', at) + 1;
  const size_t end = dts.find('>', begin);
  std::vector<std::string> cells =
      absl::StrSplit(dts.substr(begin, end - begin), ' ', absl::SkipEmpty());
  EXPECT_EQ(cells.size(), 2u) << name << " is not 8 bytes in\n" << dts;
  if (cells.size() != 2) return 0;
  uint8_t bytes[8];
  for (int c = 0; c < 2; ++c) {
    uint32_t cell = 0;
    EXPECT_TRUE(absl::SimpleHexAtoi(cells[c], &cell)) << cells[c];
    for (int b = 0; b < 4; ++b) bytes[c * 4 + b] = static_cast<uint8_t>(cell >> (24 - 8 * b));
  }
  uint64_t v;
  std::memcpy(&v, bytes, 8);
  return v;
}

HandoffModel Model(KhoVersion v) {
  HandoffBuilder::Config c;
  c.kho_version = v;
  c.liveupdate_number = 0x1122334455;
  HandoffBuilder b(c);
  b.AddFlb("example-flb-v1", b.PreserveNew(0), 2);
  absl::StatusOr<HandoffModel> m = std::move(b).Finish();
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : HandoffModel{};
}

TEST(Dtc, AcceptsTheKhoRootFdtOfBothVersions) {
  for (KhoVersion v : {KhoVersion::kV1, KhoVersion::kV2}) {
    const std::string version(KhoVersionName(v));
    SCOPED_TRACE(version);
    HandoffModel m = Model(v);
    absl::StatusOr<std::vector<uint8_t>> page = BuildKhoRootFdt(m.kho);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->size(), kPageSize);
    const std::string dts = Dtc(*page, version);
    EXPECT_NE(dts.find("compatible = \"" + version + "\";"), std::string::npos) << dts;
    EXPECT_EQ(DtsU64(dts, KHO_PROP_PRESERVED_MEMORY_MAP), m.kho.tracker.root_pa());
    EXPECT_NE(dts.find("\tLUO {"), std::string::npos) << dts;
    EXPECT_EQ(DtsU64(dts, KhoSubnodeDataProperty(v)), m.luo.fdt_pa);
    // And our own check agrees.
    Diagnostics diag(Options{});
    Path path;
    EXPECT_TRUE(CheckFdt(ToPage(*page), 0, Options{}, path, diag)) << Problems(diag);
  }
}

TEST(Dtc, AcceptsTheLuoFdt) {
  HandoffModel m = Model(KhoVersion::kV2);
  absl::StatusOr<std::vector<uint8_t>> page = BuildLuoFdt(m.luo);
  ASSERT_TRUE(page.ok()) << page.status();
  const std::string dts = Dtc(*page, "luo");
  EXPECT_NE(dts.find("compatible = \"" LUO_FDT_COMPATIBLE "\";"), std::string::npos) << dts;
  EXPECT_NE(dts.find("\t" LUO_FDT_FLB_NODE_NAME " {"), std::string::npos) << dts;
  EXPECT_NE(dts.find("compatible = \"" LUO_FDT_FLB_COMPATIBLE "\";"), std::string::npos) << dts;
  EXPECT_EQ(DtsU64(dts, LUO_FDT_PROP_LIVEUPDATE_NUMBER), 0x1122334455u);
  EXPECT_EQ(DtsU64(dts, LUO_FDT_FLB_PROP_HEADER), m.luo.flb_header_pa);
  Diagnostics diag(Options{});
  Path path;
  EXPECT_TRUE(CheckFdt(ToPage(*page), 0, Options{}, path, diag)) << Problems(diag);
}

}  // namespace
}  // namespace khoabi
