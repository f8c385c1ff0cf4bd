// Handoff images as ELF64 core files (spec/handoff.md, "Handoff image files"):
// the writer's output round-trips and is what readelf expects of a kdump-style
// core; the hardened reader names every malformation with an elf_* reason and
// never reads outside the file.
#include "lib/elf_image.h"

#include <elf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace khoabi {
namespace {

using ::khoabi::testing::Problems;

// --- Building ELF files by hand -------------------------------------------

template <typename T>
std::string Bytes(const T& v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}

std::string Pad4(std::string s) {
  s.resize((s.size() + 3) & ~size_t{3}, '\0');
  return s;
}

// One note: header, name (NUL-terminated, padded), descriptor (padded).
std::string Note(absl::string_view name, uint32_t type, const std::string& desc,
                 int64_t namesz = -1) {
  Elf64_Nhdr nh{};
  nh.n_namesz =
      namesz >= 0 ? static_cast<uint32_t>(namesz) : static_cast<uint32_t>(name.size() + 1);
  nh.n_descsz = static_cast<uint32_t>(desc.size());
  nh.n_type = type;
  return Bytes(nh) + Pad4(std::string(name) + '\0') + Pad4(desc);
}

std::string KhoNote(uint64_t root_pa) { return Note("KHO", kKhoNoteType, Bytes(root_pa)); }

std::string Fill(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 13);
  return s;
}

// A core file under construction: program headers and their payloads, laid
// out in order after the header table. Fields can be patched afterwards.
class ElfFile {
 public:
  ElfFile() {
    std::memcpy(eh_.e_ident, ELFMAG, SELFMAG);
    eh_.e_ident[EI_CLASS] = ELFCLASS64;
    eh_.e_ident[EI_DATA] = ELFDATA2LSB;
    eh_.e_ident[EI_VERSION] = EV_CURRENT;
    eh_.e_type = ET_CORE;
    eh_.e_machine = EM_X86_64;
    eh_.e_version = EV_CURRENT;
    eh_.e_phoff = sizeof(Elf64_Ehdr);
    eh_.e_ehsize = sizeof(Elf64_Ehdr);
    eh_.e_phentsize = sizeof(Elf64_Phdr);
  }

  // Adds a PT_LOAD of `data` at `pa` (memsz defaults to the data's size).
  size_t Load(uint64_t pa, std::string data, std::optional<uint64_t> memsz = std::nullopt) {
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_paddr = ph.p_vaddr = pa;
    ph.p_memsz = memsz.value_or(data.size());
    return Add(ph, std::move(data));
  }
  size_t Notes(std::string notes) {
    Elf64_Phdr ph{};
    ph.p_type = PT_NOTE;
    return Add(ph, std::move(notes));
  }

  Elf64_Ehdr& ehdr() { return eh_; }
  Elf64_Phdr& phdr(size_t i) { return phdrs_[i]; }

  // Lays the file out; `file_order` permutes where payloads go (default:
  // header order).
  std::string Build(std::vector<size_t> file_order = {}) {
    if (file_order.empty()) {
      for (size_t i = 0; i < phdrs_.size(); ++i) file_order.push_back(i);
    }
    eh_.e_phnum = static_cast<Elf64_Half>(phdrs_.size());
    uint64_t at = sizeof(Elf64_Ehdr) + phdrs_.size() * sizeof(Elf64_Phdr);
    std::string body;
    for (size_t i : file_order) {
      while ((at + body.size()) % 8 != 0) body.push_back('\0');
      if (!laid_out_) {
        phdrs_[i].p_offset = at + body.size();
        phdrs_[i].p_filesz = payloads_[i].size();
      }
      body += payloads_[i];
    }
    laid_out_ = true;
    return Rebuild(body);
  }
  // After Build: re-emits header and tables (patched) with the same body.
  std::string Rebuild() { return Rebuild(last_body_); }

 private:
  size_t Add(Elf64_Phdr ph, std::string data) {
    phdrs_.push_back(ph);
    payloads_.push_back(std::move(data));
    return phdrs_.size() - 1;
  }
  std::string Rebuild(const std::string& body) {
    last_body_ = body;
    std::string out = Bytes(eh_);
    for (const Elf64_Phdr& ph : phdrs_) out += Bytes(ph);
    return out + body;
  }

  Elf64_Ehdr eh_{};
  std::vector<Elf64_Phdr> phdrs_;
  std::vector<std::string> payloads_;
  std::string last_body_;
  bool laid_out_ = false;
};

// A small valid file: two loads and the KHO note.
ElfFile Valid() {
  ElfFile f;
  f.Notes(KhoNote(0x10000));
  f.Load(0x10000, Fill(0x1000, 1));
  f.Load(0x40000, Fill(0x800, 2));
  return f;
}

// --- Reading --------------------------------------------------------------

// A read over an exactly sized copy of the file, so over-reads are caught.
struct ReadResult {
  std::vector<uint8_t> file;
  Diagnostics diag;
  LoadedImage image;
};

std::unique_ptr<ReadResult> Read(const std::string& file, const Options& options = {},
                                 const ElfReadOptions& elf_options = {}) {
  auto r = std::make_unique<ReadResult>();
  r->file.assign(file.begin(), file.end());
  r->diag.Reset(options);
  r->image = ReadElfImage(absl::MakeConstSpan(r->file), options, elf_options, &r->diag);
  return r;
}

void ExpectRejected(const ReadResult& r, Reason want) {
  EXPECT_FALSE(r.diag.ok());
  EXPECT_TRUE(r.diag.Has(want)) << Problems(r.diag);
  ASSERT_NE(r.diag.first_error(), nullptr);
  EXPECT_EQ(r.diag.first_error()->reason, want) << Problems(r.diag);
}

std::string AsString(absl::Span<const uint8_t> s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

void ExpectSameImage(const ImageView& got, const Image& want) {
  EXPECT_EQ(got.root_pa, want.root_pa);
  ASSERT_EQ(got.segments.size(), want.segments().size());
  for (size_t i = 0; i < got.segments.size(); ++i) {
    EXPECT_EQ(got.segments[i].pa, want.segments()[i].pa) << i;
    EXPECT_TRUE(std::equal(got.segments[i].bytes.begin(), got.segments[i].bytes.end(),
                           want.segments()[i].bytes.begin(), want.segments()[i].bytes.end()))
        << "segment " << i;
  }
}

Image ScatteredImage() {
  ImageBuilder b;
  EXPECT_TRUE(b.Put(0x1000, std::vector<uint8_t>(0x1000, 0x11)).ok());
  EXPECT_TRUE(b.Put(0x2000, std::vector<uint8_t>(0x2000, 0x22)).ok());  // joins the first
  EXPECT_TRUE(b.Put(0x100000000, std::vector<uint8_t>(0x3000, 0x33)).ok());
  EXPECT_TRUE(b.Put(0x7ffff000, std::vector<uint8_t>(100, 0x44)).ok());
  EXPECT_TRUE(b.Put(0xfffffffffffff000, std::vector<uint8_t>(0x1000, 0x55)).ok());
  return std::move(b).Build(0x2000);
}

// --- Round trips ------------------------------------------------------------

TEST(ElfImage, RoundTripsSegmentsAndRoot) {
  const Image image = ScatteredImage();
  ASSERT_EQ(image.segments().size(), 4u);
  auto r = Read(WriteElfImage(image));
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  EXPECT_TRUE(r->diag.problems().empty()) << Problems(r->diag);
  EXPECT_TRUE(r->image.has_root);
  ExpectSameImage(r->image.view, image);
  // The writer never needs owned runs: every segment is read in place.
  EXPECT_TRUE(r->image.owned.empty());
}

TEST(ElfImage, EmptyImageRoundTrips) {
  Image empty;
  empty.root_pa = 0x1234000;
  auto r = Read(WriteElfImage(empty));
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  EXPECT_EQ(r->image.view.root_pa, 0x1234000u);
  EXPECT_TRUE(r->image.view.segments.empty());
}

// --- readelf agrees ----------------------------------------------------------

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// Runs `cmd`, returns its output and exit status.
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

uint64_t Hex(absl::string_view s) {
  uint64_t v = 0;
  EXPECT_TRUE(absl::SimpleHexAtoi(s, &v)) << s;
  return v;
}

struct ProgramHeader {
  std::string type;
  uint64_t offset, vaddr, paddr, filesz, memsz;
};

// Parses the table of `readelf -lW`.
std::vector<ProgramHeader> ParseReadelfProgramHeaders(const std::string& text) {
  std::vector<ProgramHeader> out;
  bool in_table = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.empty()) {
      in_table = false;
      continue;
    }
    if (f[0] == "Type" && f.size() > 4 && f[3] == "PhysAddr") {
      in_table = true;
      continue;
    }
    if (!in_table || f.size() < 6) continue;
    out.push_back({std::string(f[0]), Hex(f[1]), Hex(f[2]), Hex(f[3]), Hex(f[4]), Hex(f[5])});
  }
  return out;
}

TEST(ElfImage, ReadelfSeesOneLoadPerSegmentAndTheKhoNote) {
  const Image image = ScatteredImage();
  const std::string path = TempPath("scattered.elf");
  {
    std::ofstream out(path, std::ios::binary);
    out << WriteElfImage(image);
  }
  auto [text, status] = RunCommand("readelf -lW " + path);
  ASSERT_EQ(status, 0) << text;
  EXPECT_NE(text.find("Elf file type is CORE"), std::string::npos) << text;
  const std::vector<ProgramHeader> headers = ParseReadelfProgramHeaders(text);
  std::vector<ProgramHeader> loads;
  int notes = 0;
  for (const ProgramHeader& h : headers) {
    if (h.type == "LOAD") loads.push_back(h);
    if (h.type == "NOTE") ++notes;
  }
  EXPECT_EQ(notes, 1) << text;
  ASSERT_EQ(loads.size(), image.segments().size()) << text;
  for (size_t i = 0; i < loads.size(); ++i) {
    EXPECT_EQ(loads[i].paddr, image.segments()[i].pa) << text;
    EXPECT_EQ(loads[i].filesz, image.segments()[i].bytes.size()) << text;
    EXPECT_EQ(loads[i].memsz, image.segments()[i].bytes.size()) << text;
  }

  // readelf -n: one note owned by "KHO", 8 bytes, whose data is the root PA.
  auto [notes_text, notes_status] = RunCommand("readelf -nW " + path);
  ASSERT_EQ(notes_status, 0) << notes_text;
  int kho_notes = 0;
  std::vector<absl::string_view> lines = absl::StrSplit(notes_text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<absl::string_view> f =
        absl::StrSplit(lines[i], absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (f.size() < 2 || f[0] != "KHO") continue;
    ++kho_notes;
    EXPECT_EQ(Hex(f[1]), 8u) << lines[i];
    // The descriptor bytes follow "description data:", on this line (-W)
    // or the next.
    std::string rest(lines[i]);
    if (i + 1 < lines.size()) rest += " " + std::string(lines[i + 1]);
    const size_t at = rest.find("description data:");
    ASSERT_NE(at, std::string::npos) << rest;
    std::vector<absl::string_view> d =
        absl::StrSplit(absl::string_view(rest).substr(at + 17), ' ', absl::SkipEmpty());
    ASSERT_GE(d.size(), 8u) << rest;
    uint64_t root = 0;
    for (int b = 7; b >= 0; --b) root = (root << 8) | Hex(d[b]);
    EXPECT_EQ(root, image.root_pa) << rest;
  }
  EXPECT_EQ(kho_notes, 1) << notes_text;
}

// --- Accepted layouts ---------------------------------------------------------

TEST(ElfImage, MemszBeyondFileszIsZeroFilled) {
  ElfFile f;
  f.Notes(KhoNote(0x10000));
  f.Load(0x10000, "hello", 0x1000);
  f.Load(0x20000, "", 0x800);  // nothing in the file at all
  auto r = Read(f.Build());
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  ASSERT_EQ(r->image.view.segments.size(), 2u);
  const SegmentView& s = r->image.view.segments[0];
  EXPECT_EQ(s.pa, 0x10000u);
  ASSERT_EQ(s.bytes.size(), 0x1000u);
  EXPECT_EQ(AsString(s.bytes.subspan(0, 5)), "hello");
  for (size_t i = 5; i < s.bytes.size(); ++i) ASSERT_EQ(s.bytes[i], 0) << i;
  ASSERT_EQ(r->image.view.segments[1].bytes.size(), 0x800u);
  for (uint8_t b : r->image.view.segments[1].bytes) ASSERT_EQ(b, 0);
}

TEST(ElfImage, LoadsContiguousInPaButNotInTheFileAreJoined) {
  ElfFile f;
  f.Notes(KhoNote(0x1000));
  f.Load(0x1000, Fill(0x1000, 1));
  f.Load(0x2000, Fill(0x1000, 2));
  f.Load(0x3000, Fill(0x10, 3), 0x100);  // zero-filled tail, still joined
  // In the file, the second segment comes first.
  auto r = Read(f.Build({0, 2, 1, 3}));
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  ASSERT_EQ(r->image.view.segments.size(), 1u);
  const SegmentView& s = r->image.view.segments[0];
  EXPECT_EQ(s.pa, 0x1000u);
  std::string want = Fill(0x1000, 1) + Fill(0x1000, 2) + Fill(0x10, 3) + std::string(0xf0, '\0');
  EXPECT_EQ(AsString(s.bytes), want);
}

TEST(ElfImage, LoadsContiguousInPaAndFileAreOneSegmentReadInPlace) {
  ElfFile f;
  f.Notes(KhoNote(0x1000));
  f.Load(0x1000, Fill(0x1000, 1));
  f.Load(0x2000, Fill(0x1000, 2));
  auto r = Read(f.Build());
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  ASSERT_EQ(r->image.view.segments.size(), 1u);
  EXPECT_EQ(AsString(r->image.view.segments[0].bytes), Fill(0x1000, 1) + Fill(0x1000, 2));
  EXPECT_TRUE(r->image.owned.empty());
  EXPECT_GE(r->image.view.segments[0].bytes.data(), r->file.data());
  EXPECT_LE(r->image.view.segments[0].bytes.data() + 0x2000, r->file.data() + r->file.size());
}

TEST(ElfImage, SegmentEndingAtTheTopOfTheAddressSpaceIsValid) {
  ElfFile f;
  f.Notes(KhoNote(0x1000));
  f.Load(0xfffffffffffff000, Fill(0x1000, 1));
  auto r = Read(f.Build());
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  ASSERT_EQ(r->image.view.segments.size(), 1u);
  EXPECT_EQ(r->image.view.segments[0].pa, 0xfffffffffffff000u);
}

TEST(ElfImage, EmptyLoadsAreIgnored) {
  ElfFile f;
  f.Notes(KhoNote(0x1000));
  f.Load(0x1000, Fill(0x1000, 1));
  f.Load(0x1800, "", 0);  // inside the first, but empty: no overlap
  auto r = Read(f.Build());
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  EXPECT_EQ(r->image.view.segments.size(), 1u);
}

TEST(ElfImage, OtherNotesAreIgnored) {
  ElfFile f;
  f.Notes(Note("CORE", NT_PRSTATUS, Fill(336, 7)) + Note("KHO", 2, "whatever") +
          Note("LINUX", 1, Fill(8, 1)) + KhoNote(0xabc000) + Note("VMCOREINFO", 0, "x=1\n"));
  f.Load(0xabc000, Fill(0x1000, 1));
  auto r = Read(f.Build());
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  EXPECT_TRUE(r->image.has_root);
  EXPECT_EQ(r->image.view.root_pa, 0xabc000u);
}

TEST(ElfImage, RootPaOptionReplacesAMissingNote) {
  ElfFile f;
  f.Load(0x10000, Fill(0x1000, 1));
  ElfReadOptions eo;
  eo.root_pa = 0x10000;
  auto r = Read(f.Build(), Options{}, eo);
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  EXPECT_TRUE(r->image.has_root);
  EXPECT_EQ(r->image.view.root_pa, 0x10000u);
  EXPECT_EQ(r->image.view.segments.size(), 1u);
}

TEST(ElfImage, RootPaOptionOverridesTheNote) {
  ElfReadOptions eo;
  eo.root_pa = 0x40000;
  auto r = Read(Valid().Build(), Options{}, eo);
  ASSERT_TRUE(r->diag.ok()) << Problems(r->diag);
  EXPECT_EQ(r->image.view.root_pa, 0x40000u);
}

// --- Malformed files: one reason each ---------------------------------------

TEST(ElfMalformed, ElfTruncatedHeader) {
  const std::string valid = Valid().Build();
  for (size_t n : {size_t{0}, size_t{1}, size_t{16}, sizeof(Elf64_Ehdr) - 1}) {
    SCOPED_TRACE(n);
    auto r = Read(valid.substr(0, n));
    ExpectRejected(*r, Reason::kElfTruncated);
    EXPECT_FALSE(r->image.has_root);
  }
}

TEST(ElfMalformed, ElfTruncatedProgramHeaders) {
  ElfFile f = Valid();
  const std::string valid = f.Build();
  // Cut inside the table.
  ExpectRejected(*Read(valid.substr(0, sizeof(Elf64_Ehdr) + 10)), Reason::kElfTruncated);
  // A table starting near the end of the file, or at an offset that wraps.
  for (uint64_t phoff : {uint64_t{valid.size() - 8}, uint64_t{valid.size()}, ~uint64_t{0} - 16}) {
    f.ehdr().e_phoff = phoff;
    ExpectRejected(*Read(f.Rebuild()), Reason::kElfTruncated);
  }
}

TEST(ElfMalformed, ElfBadIdent) {
  struct Case {
    int index;
    unsigned char value;
  };
  for (const Case& c :
       {Case{EI_MAG0, 0x7e}, Case{EI_MAG3, 'f'}, Case{EI_CLASS, ELFCLASS32},
        Case{EI_CLASS, ELFCLASSNONE}, Case{EI_DATA, ELFDATA2MSB}, Case{EI_VERSION, EV_NONE}}) {
    SCOPED_TRACE(c.index);
    ElfFile f = Valid();
    f.ehdr().e_ident[c.index] = c.value;
    ExpectRejected(*Read(f.Build()), Reason::kElfBadIdent);
  }
}

TEST(ElfMalformed, ElfBadType) {
  ElfFile exec = Valid();
  exec.ehdr().e_type = ET_EXEC;
  ExpectRejected(*Read(exec.Build()), Reason::kElfBadType);
  ElfFile arm = Valid();
  arm.ehdr().e_machine = EM_AARCH64;
  ExpectRejected(*Read(arm.Build()), Reason::kElfBadType);
}

TEST(ElfMalformed, ElfBadProgramHeaders) {
  {
    ElfFile f = Valid();
    f.Build();
    f.ehdr().e_phnum = 0;
    ExpectRejected(*Read(f.Rebuild()), Reason::kElfBadProgramHeaders);
  }
  {
    ElfFile f = Valid();
    f.Build();
    f.ehdr().e_phnum = PN_XNUM;
    ExpectRejected(*Read(f.Rebuild()), Reason::kElfBadProgramHeaders);
  }
  for (Elf64_Half size : {Elf64_Half{0}, Elf64_Half{32}, Elf64_Half{64}}) {
    ElfFile f = Valid();
    f.Build();
    f.ehdr().e_phentsize = size;
    ExpectRejected(*Read(f.Rebuild()), Reason::kElfBadProgramHeaders);
  }
}

TEST(ElfMalformed, ElfBadSegmentOutsideTheFile) {
  ElfFile f = Valid();
  const std::string valid = f.Build();
  struct Case {
    uint64_t offset, filesz;
  };
  for (const Case& c : {Case{valid.size() + 1, 1}, Case{valid.size() - 0x7ff, 0x800},
                        Case{~uint64_t{0} - 7, 16}, Case{0, ~uint64_t{0}}}) {
    SCOPED_TRACE(c.offset);
    f.phdr(2).p_offset = c.offset;
    f.phdr(2).p_filesz = c.filesz;
    f.phdr(2).p_memsz = c.filesz;
    ExpectRejected(*Read(f.Rebuild()), Reason::kElfBadSegment);
  }
}

TEST(ElfMalformed, ElfBadSegmentMemszBelowFilesz) {
  ElfFile f = Valid();
  f.Build();
  f.phdr(1).p_memsz = f.phdr(1).p_filesz - 1;
  ExpectRejected(*Read(f.Rebuild()), Reason::kElfBadSegment);
}

TEST(ElfMalformed, ElfBadSegmentWrapsAroundTheAddressSpace) {
  struct Case {
    uint64_t pa, memsz;
  };
  for (const Case& c : {Case{0xfffffffffffff000, 0x1001}, Case{~uint64_t{0}, 2},
                        Case{0x8000000000000000, 0x8000000000000001}}) {
    SCOPED_TRACE(c.pa);
    ElfFile f;
    f.Notes(KhoNote(0x1000));
    f.Load(c.pa, Fill(1, 1), c.memsz);
    ExpectRejected(*Read(f.Build()), Reason::kElfBadSegment);
  }
}

TEST(ElfMalformed, ElfOverlappingSegments) {
  struct Case {
    uint64_t a, a_len, b, b_len;
  };
  for (const Case& c : {Case{0x1000, 0x1000, 0x1000, 0x10},    // same start
                        Case{0x1000, 0x1000, 0x1fff, 0x10},    // last byte
                        Case{0x1000, 0x3000, 0x2000, 0x10},    // contained
                        Case{0x2000, 0x1000, 0x1000, 0x1001},  // listed in reverse
                        Case{0xfffffffffffff000, 0x1000, 0xfffffffffffff800, 0x10}}) {  // to 2^64
    SCOPED_TRACE(c.b);
    ElfFile f;
    f.Notes(KhoNote(0x1000));
    f.Load(c.a, Fill(c.a_len, 1));
    f.Load(c.b, Fill(c.b_len, 2));
    ExpectRejected(*Read(f.Build()), Reason::kElfOverlappingSegments);
  }
}

TEST(ElfMalformed, ElfBadNoteOutsideTheFile) {
  ElfFile f = Valid();
  const std::string valid = f.Build();
  f.phdr(0).p_offset = valid.size() - 4;
  ExpectRejected(*Read(f.Rebuild()), Reason::kElfBadNote);
}

TEST(ElfMalformed, ElfBadNoteHeaderRunsPastTheSegment) {
  ElfFile f;
  f.Notes(KhoNote(0x1000) + std::string(8, '\0'));  // 8 stray bytes: not a header
  f.Load(0x1000, Fill(0x1000, 1));
  ExpectRejected(*Read(f.Build()), Reason::kElfBadNote);
}

TEST(ElfMalformed, ElfBadNoteSizesRunPastTheSegment) {
  for (uint32_t namesz : {uint32_t{100}, ~uint32_t{0}, ~uint32_t{0} - 2}) {
    SCOPED_TRACE(namesz);
    ElfFile f;
    f.Notes(Note("KHO", 1, Bytes(uint64_t{0x1000}), int64_t{namesz}));
    f.Load(0x1000, Fill(0x1000, 1));
    ExpectRejected(*Read(f.Build()), Reason::kElfBadNote);
  }
  // descsz one past the segment.
  ElfFile f;
  std::string note = KhoNote(0x1000);
  Elf64_Nhdr nh;
  std::memcpy(&nh, note.data(), sizeof nh);
  nh.n_descsz = 9;
  std::memcpy(&note[0], &nh, sizeof nh);
  f.Notes(note);
  f.Load(0x1000, Fill(0x1000, 1));
  ExpectRejected(*Read(f.Build()), Reason::kElfBadNote);
}

TEST(ElfMalformed, ElfBadNoteKhoDescriptorNotEightBytes) {
  // Well-formed notes whose only fault is the KHO descriptor's size.
  for (const std::string& desc : {std::string(4, '\1'), std::string(16, '\1'), std::string()}) {
    SCOPED_TRACE(desc.size());
    ElfFile f;
    f.Notes(Note("KHO", kKhoNoteType, desc));
    f.Load(0x1000, Fill(0x1000, 1));
    auto r = Read(f.Build());
    ExpectRejected(*r, Reason::kElfBadNote);
    EXPECT_FALSE(r->image.has_root);
  }
}

TEST(ElfMalformed, ElfNoKhoNote) {
  const std::vector<std::string> notes = {
      "",                                                     // no PT_NOTE
      Note("CORE", NT_PRSTATUS, Fill(336, 1)),                // other owners only
      Note("KHO", 2, Bytes(uint64_t{0x1000})),                // KHO, other type
      Note("kho", 1, Bytes(uint64_t{0x1000})),                // other name
      Note("KHO", 1, Bytes(uint64_t{0x1000}), /*namesz=*/3),  // "KHO" without its NUL
  };
  for (size_t i = 0; i < notes.size(); ++i) {
    SCOPED_TRACE(i);
    ElfFile f;
    if (!notes[i].empty()) f.Notes(notes[i]);
    f.Load(0x1000, Fill(0x1000, 1));
    auto r = Read(f.Build());
    ExpectRejected(*r, Reason::kElfNoKhoNote);
    EXPECT_FALSE(r->image.has_root);
  }
}

TEST(ElfMalformed, ElfDuplicateKhoNoteIsStrict) {
  // Two KHO notes in one PT_NOTE, and in two PT_NOTEs.
  std::vector<ElfFile> files(2);
  files[0].Notes(KhoNote(0x1000) + KhoNote(0x2000));
  files[1].Notes(KhoNote(0x1000));
  files[1].Notes(KhoNote(0x2000));
  for (ElfFile& f : files) {
    f.Load(0x1000, Fill(0x2000, 1));
    const std::string file = f.Build();
    ExpectRejected(*Read(file), Reason::kElfDuplicateKhoNote);

    Options lenient;
    lenient.strict = false;
    auto r = Read(file, lenient);
    EXPECT_TRUE(r->diag.ok()) << Problems(r->diag);
    EXPECT_TRUE(r->diag.Has(Reason::kElfDuplicateKhoNote));
    EXPECT_EQ(r->diag.warnings(), 1u);
    EXPECT_TRUE(r->image.has_root);
    EXPECT_EQ(r->image.view.root_pa, 0x1000u) << "the first note is the one";
  }
}

TEST(ElfMalformed, LimitImageSize) {
  Options small;
  small.max_image_bytes = 0x1800;
  auto r = Read(Valid().Build(), small);  // 0x1000 + 0x800 bytes: fits exactly
  EXPECT_TRUE(r->diag.ok()) << Problems(r->diag);
  small.max_image_bytes = 0x17ff;
  ExpectRejected(*Read(Valid().Build(), small), Reason::kLimitImageSize);
  // Zero-filled memory counts too: no huge allocation for a tiny file.
  ElfFile f;
  f.Notes(KhoNote(0));
  f.Load(0, "", uint64_t{1} << 62);
  ExpectRejected(*Read(f.Build()), Reason::kLimitImageSize);
}

TEST(ElfMalformed, StopAtFirstErrorStopsEarly) {
  ElfFile f;
  f.Load(0x1000, Fill(0x10, 1), 0);  // memsz < filesz
  f.Notes(Note("KHO", 1, ""));       // a bad KHO note, so no root either
  Options stop;
  stop.stop_at_first_error = true;
  auto r = Read(f.Build(), stop);
  ExpectRejected(*r, Reason::kElfBadSegment);
  EXPECT_EQ(r->diag.errors(), 1u) << Problems(r->diag);
}

// --- Every truncation of a written file -----------------------------------

TEST(ElfImage, EveryTruncationIsAReasonOrTheWholeImage) {
  ImageBuilder b;
  ASSERT_TRUE(b.Put(0x10000, std::vector<uint8_t>(0x1000, 0xa5)).ok());
  ASSERT_TRUE(b.Put(0x30000, std::vector<uint8_t>(300, 0x5a)).ok());  // padded in the file
  const Image image = std::move(b).Build(0x10000);
  const std::string file = WriteElfImage(image);
  size_t accepted = 0;
  for (size_t n = 0; n <= file.size(); ++n) {
    auto r = Read(file.substr(0, n));
    if (r->diag.ok()) {
      ++accepted;
      ExpectSameImage(r->image.view, image);
      continue;
    }
    const Problem* p = r->diag.first_error();
    ASSERT_NE(p, nullptr) << n;
    ASSERT_EQ(ReasonName(p->reason).substr(0, 4), "elf_") << n << ": " << p->ToString();
  }
  // Cuts in the padding after the last segment lose nothing; every other
  // cut loses memory and must be rejected.
  const size_t data_end = file.size() - kPageSize + 300;
  EXPECT_EQ(accepted, file.size() - data_end + 1)
      << "only the padding after the last segment may be cut";
}

}  // namespace
}  // namespace khoabi

namespace khoabi {
namespace {

// A 200-byte file must not be able to declare gigabytes of zero-filled
// memory (review finding: it cost 2.4 GB of RSS before the cap).
TEST(ElfMalformed, ZeroFillIsCapped) {
  ElfFile f;
  f.Notes(KhoNote(0x100000000));
  f.Load(0x100000000, "", 0x80000000);  // 2 GiB of p_memsz, nothing in the file
  auto r = Read(f.Build());
  ExpectRejected(*r, Reason::kLimitImageSize);
  EXPECT_TRUE(r->image.owned.empty()) << "nothing may be allocated for it";
  Options generous;
  generous.max_zero_fill_bytes = 4ull << 30;
  ElfFile small;
  small.Notes(KhoNote(0x10000));
  small.Load(0x10000, "x", 0x3000);
  EXPECT_TRUE(Read(small.Build(), generous)->diag.ok());
}

// Two PT_LOADs may not present the same file bytes at two PAs: an image is
// never larger than its file (plus capped zero fill).
TEST(ElfMalformed, LoadsSharingFileBytesAreRejected) {
  ElfFile f = Valid();
  std::string file = f.Build();
  f.phdr(2).p_offset = f.phdr(1).p_offset;  // the 0x40000 segment reuses 0x10000's bytes
  file = f.Rebuild();
  ExpectRejected(*Read(file), Reason::kElfBadSegment);
}

}  // namespace
}  // namespace khoabi
