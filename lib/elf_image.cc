#include "lib/elf_image.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

namespace khoabi {
namespace {

constexpr uint64_t kNoteHeaderBytes = 12;  // namesz, descsz, type
constexpr uint64_t kPhdrAlign = 8;

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

template <typename T>
void Put(std::string* out, uint64_t offset, const T& v) {
  std::memcpy(&(*out)[offset], &v, sizeof v);
}

// In-file range [offset, offset + len) lies inside a file of `size` bytes.
bool InFile(uint64_t offset, uint64_t len, uint64_t size) {
  return offset <= size && len <= size - offset;
}

}  // namespace

std::string WriteElfImage(const Image& image) {
  std::vector<ElfSegment> segs;
  for (const Image::Segment& s : image.segments()) segs.push_back({s.pa, s.bytes});
  return WriteElfSegments(segs, {image.root_pa});
}

namespace {

// One PT_LOAD: `bytes` in the file, memsz >= bytes.size() in memory.
struct LoadToWrite {
  uint64_t pa;
  absl::Span<const uint8_t> bytes;
  uint64_t memsz;
};

std::string WriteLoads(const std::vector<LoadToWrite>& loads, const std::vector<uint64_t>& root_pas,
                       uint64_t data_align) {
  const uint64_t phnum = loads.size() + (root_pas.empty() ? 0 : 1);
  const uint64_t note_desc_offset = kNoteHeaderBytes + AlignUp(sizeof kKhoNoteName, 4);
  const uint64_t one_note = note_desc_offset + 8;
  const uint64_t note_bytes = one_note * root_pas.size();
  const uint64_t phoff = sizeof(Elf64_Ehdr);
  const uint64_t note_offset = AlignUp(phoff + phnum * sizeof(Elf64_Phdr), kPhdrAlign);
  const uint64_t data_offset = AlignUp(note_offset + note_bytes, data_align);

  std::vector<uint64_t> offsets;
  uint64_t end = data_offset;
  for (const LoadToWrite& l : loads) {
    offsets.push_back(end);
    end = AlignUp(end + l.bytes.size(), data_align);
  }
  std::string out(end, '\0');

  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
  eh.e_type = ET_CORE;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = phoff;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = static_cast<Elf64_Half>(phnum);
  Put(&out, 0, eh);

  uint64_t ph_at = phoff;
  if (!root_pas.empty()) {
    Elf64_Phdr note{};
    note.p_type = PT_NOTE;
    note.p_offset = note_offset;
    note.p_filesz = note_bytes;
    note.p_align = 4;
    Put(&out, ph_at, note);
    ph_at += sizeof(Elf64_Phdr);
    for (size_t i = 0; i < root_pas.size(); ++i) {
      const uint64_t at = note_offset + i * one_note;
      Elf64_Nhdr nh{};
      nh.n_namesz = sizeof kKhoNoteName;  // 4, NUL included
      nh.n_descsz = 8;
      nh.n_type = kKhoNoteType;
      Put(&out, at, nh);
      std::memcpy(&out[at + kNoteHeaderBytes], kKhoNoteName, sizeof kKhoNoteName);
      Put(&out, at + note_desc_offset, root_pas[i]);
    }
  }

  for (size_t i = 0; i < loads.size(); ++i) {
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_flags = PF_R | PF_W;
    ph.p_offset = offsets[i];
    ph.p_vaddr = loads[i].pa;
    ph.p_paddr = loads[i].pa;
    ph.p_filesz = loads[i].bytes.size();
    ph.p_memsz = loads[i].memsz;
    ph.p_align = data_align;
    Put(&out, ph_at, ph);
    ph_at += sizeof(Elf64_Phdr);
    if (!loads[i].bytes.empty()) {
      std::memcpy(&out[offsets[i]], loads[i].bytes.data(), loads[i].bytes.size());
    }
  }
  return out;
}

}  // namespace

std::string WriteElfSegments(const std::vector<ElfSegment>& segs,
                             const std::vector<uint64_t>& root_pas) {
  std::vector<LoadToWrite> loads;
  loads.reserve(segs.size());
  for (const ElfSegment& s : segs) loads.push_back({s.pa, s.bytes, s.bytes.size()});
  return WriteLoads(loads, root_pas, kPageSize);
}

std::string WriteCompactElfImage(const Image& image) {
  constexpr uint64_t kMaxLoads = PN_XNUM - 2;  // and the note
  std::vector<LoadToWrite> loads;
  for (const Image::Segment& s : image.segments()) {
    const absl::Span<const uint8_t> bytes = absl::MakeConstSpan(s.bytes);
    for (uint64_t at = 0; at < bytes.size();) {
      const uint64_t len = std::min<uint64_t>(kPageSize, bytes.size() - at);
      absl::Span<const uint8_t> page = bytes.subspan(static_cast<size_t>(at), len);
      uint64_t used = len;  // up to the last non-zero byte, a word at a time
      while (used >= 8) {
        uint64_t word;
        std::memcpy(&word, page.data() + used - 8, 8);
        if (word != 0) break;
        used -= 8;
      }
      while (used > 0 && page[used - 1] == 0) --used;
      LoadToWrite* last = loads.empty() ? nullptr : &loads.back();
      if (used == 0 && last != nullptr && last->bytes.empty() &&
          last->pa + last->memsz == s.pa + at) {
        last->memsz += len;  // extend a run of zero pages
      } else {
        loads.push_back({s.pa + at, page.subspan(0, static_cast<size_t>(used)), len});
      }
      at += len;
    }
  }
  if (loads.size() > kMaxLoads) return WriteElfImage(image);
  return WriteLoads(loads, {image.root_pa}, 8);
}

LoadedImage ReadElfImage(absl::Span<const uint8_t> file, const Options& options,
                         const ElfReadOptions& elf_options, Diagnostics* diag) {
  LoadedImage img;
  Path path;
  Path::Scope elf_scope = path.Enter("elf");
  const uint64_t size = file.size();

  Elf64_Ehdr eh;
  if (size < sizeof eh) {
    diag->Report(Reason::kElfTruncated, path, 0, "file of %llu bytes has no ELF header",
                 static_cast<unsigned long long>(size));
    return img;
  }
  std::memcpy(&eh, file.data(), sizeof eh);
  {
    Path::Scope s = path.Enter("e_ident");
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_ident[EI_VERSION] != EV_CURRENT) {
      diag->Report(Reason::kElfBadIdent, path, 0, "not an ELF64 little-endian version-1 file");
      return img;
    }
  }
  if (eh.e_type != ET_CORE || eh.e_machine != EM_X86_64) {
    diag->Report(Reason::kElfBadType, path, 16, "e_type %u, e_machine %u (want ET_CORE, x86-64)",
                 eh.e_type, eh.e_machine);
    return img;
  }
  {
    Path::Scope s = path.Enter("e_phoff");
    if (eh.e_phnum == PN_XNUM || eh.e_phnum == 0 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
      diag->Report(Reason::kElfBadProgramHeaders, path, eh.e_phoff, "e_phnum %u, e_phentsize %u",
                   eh.e_phnum, eh.e_phentsize);
      return img;
    }
    if (!InFile(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), size)) {
      diag->Report(Reason::kElfTruncated, path, eh.e_phoff,
                   "%u program headers do not fit in the file", eh.e_phnum);
      return img;
    }
  }

  struct Load {
    uint64_t pa, offset, filesz, memsz;
  };
  std::vector<Load> loads;
  int kho_notes = 0;
  uint64_t root_pa = 0;
  uint64_t total = 0, zero_fill = 0;
  for (uint64_t i = 0; i < eh.e_phnum; ++i) {
    Path::Scope s = path.Enter("phdr", i);
    Elf64_Phdr ph;
    const uint64_t ph_offset = eh.e_phoff + i * sizeof ph;
    std::memcpy(&ph, file.data() + ph_offset, sizeof ph);
    if (ph.p_type == PT_LOAD) {
      if (!InFile(ph.p_offset, ph.p_filesz, size) || ph.p_filesz > ph.p_memsz ||
          (ph.p_paddr != 0 && ph.p_memsz > ~ph.p_paddr + 1)) {
        diag->Report(Reason::kElfBadSegment, path, ph_offset,
                     "PT_LOAD pa %#llx offset %#llx filesz %#llx memsz %#llx",
                     static_cast<unsigned long long>(ph.p_paddr),
                     static_cast<unsigned long long>(ph.p_offset),
                     static_cast<unsigned long long>(ph.p_filesz),
                     static_cast<unsigned long long>(ph.p_memsz));
        if (diag->ShouldStop()) return img;
        continue;
      }
      if (ph.p_memsz == 0) continue;
      if (ph.p_memsz > options.max_image_bytes - std::min(total, options.max_image_bytes)) {
        diag->Report(Reason::kLimitImageSize, path, ph_offset, "more than %llu bytes of memory",
                     static_cast<unsigned long long>(options.max_image_bytes));
        return img;
      }
      const uint64_t fill = ph.p_memsz - ph.p_filesz;
      if (fill > options.max_zero_fill_bytes - std::min(zero_fill, options.max_zero_fill_bytes)) {
        diag->Report(Reason::kLimitImageSize, path, ph_offset,
                     "more than %llu zero-filled bytes (p_memsz beyond p_filesz)",
                     static_cast<unsigned long long>(options.max_zero_fill_bytes));
        return img;
      }
      zero_fill += fill;
      total += ph.p_memsz;
      loads.push_back({ph.p_paddr, ph.p_offset, ph.p_filesz, ph.p_memsz});
    } else if (ph.p_type == PT_NOTE) {
      if (!InFile(ph.p_offset, ph.p_filesz, size)) {
        diag->Report(Reason::kElfBadNote, path, ph_offset, "PT_NOTE outside the file");
        if (diag->ShouldStop()) return img;
        continue;
      }
      uint64_t pos = 0;
      while (pos < ph.p_filesz) {
        Path::Scope n = path.Enter("note_at", pos);
        const uint64_t at = ph.p_offset + pos;
        if (ph.p_filesz - pos < kNoteHeaderBytes) {
          diag->Report(Reason::kElfBadNote, path, at, "note header runs past the segment");
          break;
        }
        Elf64_Nhdr nh;
        std::memcpy(&nh, file.data() + at, sizeof nh);
        const uint64_t name_len = AlignUp(nh.n_namesz, 4);
        const uint64_t desc_len = AlignUp(nh.n_descsz, 4);
        const uint64_t room = ph.p_filesz - pos - kNoteHeaderBytes;
        if (name_len > room || desc_len > room - name_len) {
          diag->Report(Reason::kElfBadNote, path, at,
                       "note of namesz %u descsz %u runs past the segment", nh.n_namesz,
                       nh.n_descsz);
          break;
        }
        const uint8_t* name = file.data() + at + kNoteHeaderBytes;
        const bool is_kho = nh.n_namesz == sizeof kKhoNoteName &&
                            std::memcmp(name, kKhoNoteName, sizeof kKhoNoteName) == 0;
        if (is_kho && nh.n_type == kKhoNoteType) {
          if (nh.n_descsz != 8) {
            diag->Report(Reason::kElfBadNote, path, at, "KHO note descriptor of %u bytes, want 8",
                         nh.n_descsz);
          } else if (++kho_notes > 1) {
            diag->Report(Reason::kElfDuplicateKhoNote, path, at, "a second KHO note");
          } else {
            std::memcpy(&root_pa, name + name_len, 8);
          }
        }
        pos += kNoteHeaderBytes + name_len + desc_len;
      }
      if (diag->ShouldStop()) return img;
    }
  }

  if (elf_options.root_pa.has_value()) {
    img.view.root_pa = *elf_options.root_pa;
    img.has_root = true;
  } else if (kho_notes > 0) {
    img.view.root_pa = root_pa;
    img.has_root = true;
  } else {
    diag->Report(Reason::kElfNoKhoNote, path, kNoPa, "no KHO note gives the root FDT's PA");
  }

  // No two PT_LOADs may share file bytes: memory is described once, and an
  // image can then never be larger than its file (plus zero fill).
  {
    std::vector<const Load*> by_offset;
    for (const Load& l : loads) {
      if (l.filesz != 0) by_offset.push_back(&l);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const Load* a, const Load* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const Load& p = *by_offset[i - 1];
      if (by_offset[i]->offset < p.offset + p.filesz) {
        Path::Scope s = path.Enter("load_pa", by_offset[i]->pa);
        diag->Report(Reason::kElfBadSegment, path, by_offset[i]->offset,
                     "file bytes at %#llx also back the segment at pa %#llx",
                     static_cast<unsigned long long>(by_offset[i]->offset),
                     static_cast<unsigned long long>(p.pa));
        return img;
      }
    }
  }

  // Sort by PA, reject overlaps, and join PA-contiguous runs into one view.
  std::sort(loads.begin(), loads.end(), [](const Load& a, const Load& b) { return a.pa < b.pa; });
  for (size_t i = 0; i < loads.size(); ++i) {
    const Load& l = loads[i];
    if (i > 0) {
      const Load& p = loads[i - 1];
      const uint64_t p_end = p.pa + p.memsz;  // 0 if it ends at 2^64
      if (p_end == 0 || l.pa < p_end) {
        Path::Scope s = path.Enter("load_pa", l.pa);
        diag->Report(Reason::kElfOverlappingSegments, path, kNoPa,
                     "segments at pa %#llx and %#llx overlap",
                     static_cast<unsigned long long>(p.pa), static_cast<unsigned long long>(l.pa));
        return img;
      }
    }
  }
  size_t i = 0;
  while (i < loads.size()) {
    size_t j = i + 1;
    bool file_contiguous = loads[i].filesz == loads[i].memsz;
    uint64_t run_bytes = loads[i].memsz;
    while (j < loads.size() && loads[j].pa == loads[j - 1].pa + loads[j - 1].memsz) {
      file_contiguous = file_contiguous && loads[j].filesz == loads[j].memsz &&
                        loads[j].offset == loads[j - 1].offset + loads[j - 1].filesz;
      run_bytes += loads[j].memsz;
      ++j;
    }
    if (file_contiguous) {
      img.view.segments.push_back({loads[i].pa, file.subspan(static_cast<size_t>(loads[i].offset),
                                                             static_cast<size_t>(run_bytes))});
    } else {
      std::vector<uint8_t> run(static_cast<size_t>(run_bytes), 0);
      uint64_t at = 0;
      for (size_t k = i; k < j; ++k) {
        if (loads[k].filesz != 0) {
          std::memcpy(run.data() + at, file.data() + loads[k].offset,
                      static_cast<size_t>(loads[k].filesz));
        }
        at += loads[k].memsz;
      }
      img.owned.push_back(std::move(run));
      img.view.segments.push_back({loads[i].pa, absl::MakeConstSpan(img.owned.back())});
    }
    i = j;
  }
  return img;
}

}  // namespace khoabi
