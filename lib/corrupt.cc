#include "lib/corrupt.h"

#include <elf.h>

#include <algorithm>
#include <utility>

#include "abi/iommu.h"
#include "abi/kexec_handover.h"
#include "abi/luo.h"
#include "abi/vtd_pasid.h"
#include "absl/strings/str_format.h"
#include "lib/elf_image.h"
#include "lib/fdt.h"
#include "lib/iommu.h"

namespace khoabi {

// --- Corrupter -------------------------------------------------------------------

Corrupter::Corrupter(HandoffModel valid) : model_(std::move(valid)) {}

absl::StatusOr<IommuModel*> Corrupter::iommu() {
  if (!model_.iommu.has_value()) {
    return absl::FailedPreconditionError("the handoff carries no IOMMU state");
  }
  return &*model_.iommu;
}

absl::StatusOr<uint64_t> Corrupter::AddFolio(unsigned order, bool in_image) {
  if (!allocator_ready_) {
    // Above everything the handoff uses, with a gap so new pages sit alone.
    const uint64_t top = model_.kho.tracker.top_of_memory();
    PageAllocator::Config config;
    config.base = ((top + (1ull << 21)) >> 21) << 21;
    allocator_ = PageAllocator(config);
    allocator_ready_ = true;
  }
  absl::StatusOr<uint64_t> pa = allocator_.Alloc(order);
  if (!pa.ok()) return pa.status();
  if (!in_image) {
    outside_image_.push_back(*pa);
    // Keep the next allocation out of this folio's segment.
    if (absl::StatusOr<uint64_t> gap = allocator_.Alloc(order); !gap.ok()) return gap.status();
  }
  std::vector<Folio> folios = model_.kho.tracker.folios;
  folios.push_back({*pa, order});
  absl::StatusOr<TrackerModel> tracker = PlanTracker(model_.kho.version, folios, allocator_);
  if (!tracker.ok()) return tracker.status();
  model_.kho.tracker = *std::move(tracker);
  model_.kho.root_fdt_raw.clear();  // its preserved-memory-map changes
  return *pa;
}

absl::StatusOr<std::string> Corrupter::Finish() {
  absl::StatusOr<Image> image = EncodeHandoff(model_);
  if (!image.ok()) return image.status();
  if (!outside_image_.empty()) {
    std::vector<Image::Segment> keep;
    for (const Image::Segment& s : image->segments()) {
      if (std::find(outside_image_.begin(), outside_image_.end(), s.pa) == outside_image_.end()) {
        keep.push_back(s);
      }
    }
    absl::StatusOr<Image> trimmed = Image::FromSegments(image->root_pa, std::move(keep));
    if (!trimmed.ok()) return trimmed.status();
    image = std::move(trimmed);
  }
  for (const PatchOp& p : patches_) {
    absl::Span<uint8_t> dst = image->Mutable(p.pa, p.bytes.size());
    if (dst.empty()) {
      return absl::InternalError(absl::StrFormat("patch at %#x is outside the image", p.pa));
    }
    for (size_t i = 0; i < p.bytes.size(); ++i)
      dst[i] = p.or_bits ? (dst[i] | p.bytes[i]) : p.bytes[i];
  }
  std::string file = writer_ ? writer_(*image) : WriteElfImage(*image);
  for (const auto& edit : file_edits_) {
    if (absl::Status s = edit(file); !s.ok()) return s;
  }
  return file;
}

namespace {

absl::Status Needs(bool ok, const char* what) {
  return ok ? absl::OkStatus() : absl::FailedPreconditionError(what);
}

// --- ELF file helpers ---------------------------------------------------------

template <typename T>
T Get(const std::string& f, uint64_t off) {
  T v;
  std::memcpy(&v, f.data() + off, sizeof v);
  return v;
}
template <typename T>
void Set(std::string& f, uint64_t off, T v) {
  std::memcpy(&f[off], &v, sizeof v);
}

// Offset of the first program header of `type` in a file we wrote.
absl::StatusOr<uint64_t> PhdrOffset(const std::string& f, uint32_t type) {
  const auto eh = Get<Elf64_Ehdr>(f, 0);
  for (uint64_t i = 0; i < eh.e_phnum; ++i) {
    const uint64_t off = eh.e_phoff + i * sizeof(Elf64_Phdr);
    if (Get<Elf64_Phdr>(f, off).p_type == type) return off;
  }
  return absl::FailedPreconditionError("no such program header");
}

std::vector<ElfSegment> Segments(const Image& image) {
  std::vector<ElfSegment> out;
  for (const Image::Segment& s : image.segments()) out.push_back({s.pa, s.bytes});
  return out;
}

// --- model helpers --------------------------------------------------------------

std::vector<uint8_t> RootFdtWith(const KhoModel& kho, bool with_compat, const char* compat,
                                 bool terminated, bool with_map, bool duplicate_map, bool with_luo,
                                 int luo_prop_len) {
  FdtWriter w;
  w.BeginNode("");
  if (with_compat)
    w.Property("compatible", compat, static_cast<int>(strlen(compat)) + (terminated ? 1 : 0));
  const uint64_t map = kho.tracker.root_pa();
  if (with_map) w.PropertyU64(KHO_PROP_PRESERVED_MEMORY_MAP, map);
  if (duplicate_map) w.PropertyU64(KHO_PROP_PRESERVED_MEMORY_MAP, map);
  for (const KhoSubnode& s : kho.subnodes) {
    if (s.name == LUO_KHO_NODE_NAME && !with_luo) continue;
    w.BeginNode(s.name.c_str());
    if (s.name == LUO_KHO_NODE_NAME && luo_prop_len != 8) {
      w.Property(KhoSubnodeDataProperty(kho.version), &s.data_pa, luo_prop_len);
    } else {
      w.PropertyU64(KhoSubnodeDataProperty(kho.version), s.data_pa);
    }
    w.EndNode();
  }
  w.EndNode();
  absl::StatusOr<std::vector<uint8_t>> page = std::move(w).Finish();
  return page.ok() ? *page : std::vector<uint8_t>();
}

std::vector<uint8_t> LuoFdtWith(const LuoModel& luo, bool with_flb_node, uint64_t header_pa) {
  FdtWriter w;
  w.BeginNode("");
  w.PropertyString("compatible", LUO_FDT_COMPATIBLE);
  w.PropertyU64(LUO_FDT_PROP_LIVEUPDATE_NUMBER, luo.liveupdate_number);
  if (with_flb_node) {
    w.BeginNode(LUO_FDT_FLB_NODE_NAME);
    w.PropertyString("compatible", LUO_FDT_FLB_COMPATIBLE);
    w.PropertyU64(LUO_FDT_FLB_PROP_HEADER, header_pa);
    w.EndNode();
  }
  w.EndNode();
  absl::StatusOr<std::vector<uint8_t>> page = std::move(w).Finish();
  return page.ok() ? *page : std::vector<uint8_t>();
}

int IommuEntryIndex(const HandoffModel& m) {
  for (size_t i = 0; i < m.luo.flbs.size(); ++i) {
    if (IommuAbiFromName(m.luo.flbs[i].name()).has_value()) return static_cast<int>(i);
  }
  return -1;
}

// First live device on an Intel unit with a PASID directory, or -1.
int PasidDevice(const IommuModel& io, int skip = -1) {
  for (size_t i = 0; i < io.devices.size(); ++i) {
    const IommuDevice& d = io.devices[i];
    if (static_cast<int>(i) == skip || d.hdr.deleted() || d.unit == kNoObject) continue;
    if (io.units[static_cast<size_t>(d.unit)].type != IOMMU_SER_TYPE_INTEL) continue;
    if (d.pasid_table(io.abi) != 0 && d.pasid.TableFor(0) != nullptr) return static_cast<int>(i);
  }
  return -1;
}

int LiveDevice(const IommuModel& io, int skip = -1) {
  for (size_t i = 0; i < io.devices.size(); ++i) {
    if (static_cast<int>(i) != skip && !io.devices[i].hdr.deleted() &&
        io.devices[i].domain != kNoObject && io.devices[i].unit != kNoObject) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int IntelUnit(const IommuModel& io, int skip = -1) {
  for (size_t i = 0; i < io.units.size(); ++i) {
    if (static_cast<int>(i) != skip && !io.units[i].hdr.deleted() &&
        io.units[i].type == IOMMU_SER_TYPE_INTEL) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// Applies `edit` to PASID entry `pasid` of the first device with PASID state.
absl::Status EditPasid(Corrupter& c, uint32_t pasid,
                       const std::function<void(pasid_entry&)>& edit) {
  absl::StatusOr<IommuModel*> io = c.iommu();
  if (!io.ok()) return io.status();
  const int d = PasidDevice(**io);
  if (absl::Status s = Needs(d >= 0, "needs a device with PASID tables"); !s.ok()) return s;
  PasidState& st = (*io)->devices[static_cast<size_t>(d)].pasid;
  for (PasidTable& t : st.tables) {
    if (t.dir_index != pasid >> VTD_PASID_PDE_SHIFT) continue;
    pasid_entry e = t.entries.Get(pasid & (VTD_PASID_TBL_ENTRIES - 1));
    edit(e);
    t.entries.Set(pasid & (VTD_PASID_TBL_ENTRIES - 1), e);
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError("needs a PASID table for that PASID");
}

// Makes PASID 0 a first-level entry (FLPTPTR from the domain's top table).
void MakeFirstLevel(pasid_entry& e) {
  const uint64_t ptr = e.val[0] & VTD_PE0_SLPTPTR_MASK;
  e.val[0] = (static_cast<uint64_t>(VTD_PGTT_FL_ONLY) << VTD_PE0_PGTT_SHIFT) | VTD_PE0_PRESENT;
  e.val[2] = ptr;
}

absl::Status EditDevice(Corrupter& c,
                        const std::function<absl::Status(IommuModel&, IommuDevice&)>& edit) {
  absl::StatusOr<IommuModel*> io = c.iommu();
  if (!io.ok()) return io.status();
  const int d = LiveDevice(**io);
  if (absl::Status s = Needs(d >= 0, "needs a live device"); !s.ok()) return s;
  return edit(**io, (*io)->devices[static_cast<size_t>(d)]);
}

absl::Status EditDomain(Corrupter& c, const std::function<void(IommuDomain&)>& edit) {
  absl::StatusOr<IommuModel*> io = c.iommu();
  if (!io.ok()) return io.status();
  const int d = LiveDevice(**io);
  if (absl::Status s = Needs(d >= 0, "needs a live device's domain"); !s.ok()) return s;
  edit((*io)->domains[static_cast<size_t>((*io)->devices[static_cast<size_t>(d)].domain)]);
  return absl::OkStatus();
}

absl::Status EditUnit(Corrupter& c, const std::function<void(IommuUnit&)>& edit) {
  absl::StatusOr<IommuModel*> io = c.iommu();
  if (!io.ok()) return io.status();
  const int u = IntelUnit(**io);
  if (absl::Status s = Needs(u >= 0, "needs an Intel unit"); !s.ok()) return s;
  edit((*io)->units[static_cast<size_t>(u)]);
  return absl::OkStatus();
}

// PA of the iommu_flb_ser field that heads the device list.
uint64_t DeviceHeadPa(const IommuModel& io) {
  return io.flb_ser_pa + (io.abi == IommuAbi::kA ? 16 : 24);
}

std::vector<CorruptionClass> MakeClasses() {
  std::vector<CorruptionClass> v;
  auto add = [&v](const char* name, const char* layer, const char* description, Reason r,
                  const char* path, std::function<absl::Status(Corrupter&)> apply,
                  PasidPolicy policy = PasidPolicy::kAbiDefault) {
    v.push_back(CorruptionClass{name, layer, description, r, path, policy, std::move(apply)});
  };

  // --- ELF files ---
  add("elf_truncated", "elf", "cut the file after 40 bytes", Reason::kElfTruncated, "elf",
      [](Corrupter& c) {
        c.EditFile([](std::string& f) {
          f.resize(40);
          return absl::OkStatus();
        });
        return absl::OkStatus();
      });
  add("elf_bad_ident", "elf", "break the ELF magic", Reason::kElfBadIdent, "elf.e_ident",
      [](Corrupter& c) {
        c.EditFile([](std::string& f) {
          f[1] = 'X';
          return absl::OkStatus();
        });
        return absl::OkStatus();
      });
  add("elf_bad_type", "elf", "make it an executable (ET_EXEC)", Reason::kElfBadType, "elf",
      [](Corrupter& c) {
        c.EditFile([](std::string& f) {
          Set<Elf64_Half>(f, offsetof(Elf64_Ehdr, e_type), ET_EXEC);
          return absl::OkStatus();
        });
        return absl::OkStatus();
      });
  add("elf_bad_program_headers", "elf", "e_phentsize 32", Reason::kElfBadProgramHeaders, "elf",
      [](Corrupter& c) {
        c.EditFile([](std::string& f) {
          Set<Elf64_Half>(f, offsetof(Elf64_Ehdr, e_phentsize), 32);
          return absl::OkStatus();
        });
        return absl::OkStatus();
      });
  add("elf_bad_segment", "elf", "a PT_LOAD with p_memsz < p_filesz", Reason::kElfBadSegment,
      "elf.phdr", [](Corrupter& c) {
        c.EditFile([](std::string& f) -> absl::Status {
          absl::StatusOr<uint64_t> off = PhdrOffset(f, PT_LOAD);
          if (!off.ok()) return off.status();
          auto ph = Get<Elf64_Phdr>(f, *off);
          ph.p_memsz = ph.p_filesz - 1;
          Set(f, *off, ph);
          return absl::OkStatus();
        });
        return absl::OkStatus();
      });
  add("elf_overlapping_segments", "elf", "a second PT_LOAD over the first page of memory",
      Reason::kElfOverlappingSegments, "elf", [](Corrupter& c) {
        c.WriteFileWith([](const Image& image) {
          std::vector<ElfSegment> segs = Segments(image);
          segs.push_back({segs.front().pa, segs.front().bytes.subspan(0, kPageSize)});
          return WriteElfSegments(segs, {image.root_pa});
        });
        return absl::OkStatus();
      });
  add("elf_bad_note", "elf", "a KHO note with a 4-byte descriptor", Reason::kElfBadNote, "elf.phdr",
      [](Corrupter& c) {
        c.EditFile([](std::string& f) -> absl::Status {
          absl::StatusOr<uint64_t> off = PhdrOffset(f, PT_NOTE);
          if (!off.ok()) return off.status();
          const auto ph = Get<Elf64_Phdr>(f, *off);
          Set<Elf64_Word>(f, ph.p_offset + offsetof(Elf64_Nhdr, n_descsz), 4);
          return absl::OkStatus();
        });
        return absl::OkStatus();
      });
  add("elf_no_kho_note", "elf", "rename the KHO note", Reason::kElfNoKhoNote, "elf",
      [](Corrupter& c) {
        c.EditFile([](std::string& f) -> absl::Status {
          absl::StatusOr<uint64_t> off = PhdrOffset(f, PT_NOTE);
          if (!off.ok()) return off.status();
          f[Get<Elf64_Phdr>(f, *off).p_offset + 12 + 2] = 'X';
          return absl::OkStatus();
        });
        return absl::OkStatus();
      });
  add("elf_duplicate_kho_note", "elf", "a second KHO note", Reason::kElfDuplicateKhoNote,
      "elf.phdr", [](Corrupter& c) {
        c.WriteFileWith([](const Image& image) {
          return WriteElfSegments(Segments(image), {image.root_pa, image.root_pa});
        });
        return absl::OkStatus();
      });
  add("pa_outside_image", "elf", "the KHO note names a root PA outside the image",
      Reason::kPaOutsideImage, "kho.root_fdt", [](Corrupter& c) {
        c.WriteFileWith(
            [](const Image& image) { return WriteElfSegments(Segments(image), {0x1000}); });
        return absl::OkStatus();
      });

  // --- FDT layers ---
  add("fdt_bad_header", "fdt", "break the KHO root FDT's magic", Reason::kFdtBadHeader,
      "kho.root_fdt", [](Corrupter& c) {
        c.PatchValue<uint8_t>(c.model().kho.root_fdt_pa, 0xde);
        return absl::OkStatus();
      });
  add("fdt_too_large", "fdt", "root FDT totalsize 8192 (> one page)", Reason::kFdtTooLarge,
      "kho.root_fdt", [](Corrupter& c) {
        c.PatchValue<uint32_t>(c.model().kho.root_fdt_pa + 4, __builtin_bswap32(8192));
        return absl::OkStatus();
      });
  add("fdt_bad_structure", "fdt", "an unknown token where the LUO FDT's root node begins",
      Reason::kFdtBadStructure, "luo.fdt", [](Corrupter& c) {
        HandoffModel& m = c.model();
        std::vector<uint8_t> page =
            m.luo.fdt_raw.empty() ? LuoFdtWith(m.luo, true, m.luo.flb_header_pa) : m.luo.fdt_raw;
        uint32_t off_struct;
        std::memcpy(&off_struct, page.data() + 8, 4);
        c.PatchValue<uint32_t>(m.luo.fdt_pa + __builtin_bswap32(off_struct),
                               __builtin_bswap32(0x0a));
        return absl::OkStatus();
      });
  add("fdt_duplicate_name", "fdt", "preserved-memory-map twice in the root FDT",
      Reason::kFdtDuplicateName, "kho.root_fdt", [](Corrupter& c) {
        KhoModel& k = c.model().kho;
        k.root_fdt_raw = RootFdtWith(k, true, std::string(KhoVersionName(k.version)).c_str(), true,
                                     true, true, true, 8);
        return absl::OkStatus();
      });
  add("fdt_unterminated_string", "fdt", "the root compatible without its NUL",
      Reason::kFdtUnterminatedString, "kho.root_fdt.compatible", [](Corrupter& c) {
        KhoModel& k = c.model().kho;
        k.root_fdt_raw = RootFdtWith(k, true, std::string(KhoVersionName(k.version)).c_str(), false,
                                     true, false, true, 8);
        return absl::OkStatus();
      });
  add("unknown_compatible", "fdt", "root compatible \"kho-v9\"", Reason::kUnknownCompatible,
      "kho.root_fdt.compatible", [](Corrupter& c) {
        KhoModel& k = c.model().kho;
        k.root_fdt_raw = RootFdtWith(k, true, "kho-v9", true, true, false, true, 8);
        return absl::OkStatus();
      });
  add("missing_node", "fdt", "the LUO FDT without its luo-flb node", Reason::kMissingNode,
      "luo.fdt.luo-flb", [](Corrupter& c) {
        LuoModel& l = c.model().luo;
        l.fdt_raw = LuoFdtWith(l, false, l.flb_header_pa);
        return absl::OkStatus();
      });
  add("missing_kho_luo_node", "fdt", "the KHO root FDT without its LUO node", Reason::kMissingNode,
      "kho.LUO", [](Corrupter& c) {
        KhoModel& k = c.model().kho;
        k.root_fdt_raw = RootFdtWith(k, true, std::string(KhoVersionName(k.version)).c_str(), true,
                                     true, false, false, 8);
        return absl::OkStatus();
      });
  add("luo_node_unit_address", "fdt",
      "a node LUO@1 before LUO, pointing at a tracker page: the kernel takes the first node "
      "fdt_subnode_offset() matches",
      Reason::kClaimNotPreserved, "luo.fdt", [](Corrupter& c) {
        KhoModel& k = c.model().kho;
        const TrackerModel& t = k.tracker;
        const uint64_t shadow = t.format == KhoVersion::kV2 ? t.root_pa() : t.chunks.front().pa;
        FdtWriter w;
        w.BeginNode("");
        w.PropertyString("compatible", KhoVersionName(k.version));
        w.PropertyU64(KHO_PROP_PRESERVED_MEMORY_MAP, t.root_pa());
        w.BeginNode("LUO@1");
        w.PropertyU64(KhoSubnodeDataProperty(k.version), shadow);
        w.EndNode();
        for (const KhoSubnode& sub : k.subnodes) {
          w.BeginNode(sub.name.c_str());
          w.PropertyU64(KhoSubnodeDataProperty(k.version), sub.data_pa);
          w.EndNode();
        }
        w.EndNode();
        absl::StatusOr<std::vector<uint8_t>> page = std::move(w).Finish();
        if (!page.ok()) return page.status();
        k.root_fdt_raw = *std::move(page);
        return absl::OkStatus();
      });
  add("missing_property", "fdt", "the root FDT without preserved-memory-map",
      Reason::kMissingProperty, "kho.root_fdt.preserved-memory-map", [](Corrupter& c) {
        KhoModel& k = c.model().kho;
        k.root_fdt_raw = RootFdtWith(k, true, std::string(KhoVersionName(k.version)).c_str(), true,
                                     false, false, true, 8);
        return absl::OkStatus();
      });
  add("bad_property_size", "fdt", "the LUO node's data PA as 4 bytes", Reason::kBadPropertySize,
      "kho.LUO", [](Corrupter& c) {
        KhoModel& k = c.model().kho;
        k.root_fdt_raw = RootFdtWith(k, true, std::string(KhoVersionName(k.version)).c_str(), true,
                                     true, false, true, 4);
        return absl::OkStatus();
      });
  add("zero_pa", "fdt", "luo-flb-header = 0", Reason::kZeroPa, "luo.fdt.luo-flb.luo-flb-header",
      [](Corrupter& c) {
        LuoModel& l = c.model().luo;
        l.fdt_raw = LuoFdtWith(l, true, 0);
        return absl::OkStatus();
      });

  // --- LUO FLB header ---
  add("flb_bad_page_count", "luo", "pgcnt 2", Reason::kFlbBadPageCount, "luo.flb_header.pgcnt",
      [](Corrupter& c) {
        c.model().luo.flb_pgcnt = 2;
        return absl::OkStatus();
      });
  add("flb_count_over_capacity", "luo", "count 64 (a page holds 63)", Reason::kFlbCountOverCapacity,
      "luo.flb_header.count", [](Corrupter& c) {
        c.PatchValue<uint64_t>(c.model().luo.flb_header_pa + 8, 64);
        return absl::OkStatus();
      });
  add("flb_name_unterminated", "luo", "an FLB entry whose 48 name bytes have no NUL",
      Reason::kFlbNameUnterminated, "luo.flb_header.entry", [](Corrupter& c) {
        FlbEntry e;
        e.name_bytes.fill('x');
        e.count = 1;
        c.model().luo.flbs.push_back(e);
        return Needs(c.model().luo.flbs.size() <= LUO_FLB_ENTRIES_PER_PAGE, "the FLB page is full");
      });
  add("flb_duplicate_name", "luo", "two FLB entries named \"dup-flb-v1\"",
      Reason::kFlbDuplicateName, "luo.flb_header.entry", [](Corrupter& c) {
        c.model().luo.flbs.push_back(FlbEntry::Make("dup-flb-v1", 0, 1));
        c.model().luo.flbs.push_back(FlbEntry::Make("dup-flb-v1", 0, 1));
        return Needs(c.model().luo.flbs.size() <= LUO_FLB_ENTRIES_PER_PAGE, "the FLB page is full");
      });
  add("flb_zero_count", "luo", "an FLB entry with count 0 (warning)", Reason::kFlbZeroCount,
      "luo.flb_header.entry", [](Corrupter& c) {
        c.model().luo.flbs.push_back(FlbEntry::Make("idle-flb-v1", 0, 0));
        return Needs(c.model().luo.flbs.size() <= LUO_FLB_ENTRIES_PER_PAGE, "the FLB page is full");
      });
  add("flb_no_iommu_entry", "luo", "drop the IOMMU FLB entry", Reason::kFlbNoIommuEntry,
      "luo.flb_header", [](Corrupter& c) {
        const int i = IommuEntryIndex(c.model());
        if (absl::Status s = Needs(i >= 0, "needs an IOMMU FLB entry"); !s.ok()) return s;
        c.model().luo.flbs.erase(c.model().luo.flbs.begin() + i);
        return absl::OkStatus();
      });
  add("flb_ambiguous_iommu", "luo", "FLB entries for both ABI A and ABI B",
      Reason::kFlbAmbiguousIommu, "luo.flb_header", [](Corrupter& c) {
        const int i = IommuEntryIndex(c.model());
        if (absl::Status s = Needs(i >= 0, "needs an IOMMU FLB entry"); !s.ok()) return s;
        FlbEntry other = c.model().luo.flbs[static_cast<size_t>(i)];
        const bool is_a = other.name() == IOMMU_A_FLB_COMPATIBLE;
        other = FlbEntry::Make(is_a ? IOMMU_B_FLB_COMPATIBLE : IOMMU_A_FLB_COMPATIBLE, other.data,
                               other.count);
        c.model().luo.flbs.push_back(other);
        return absl::OkStatus();
      });
  add("unused_bytes_not_zero", "luo", "a byte after the last FLB entry",
      Reason::kUnusedBytesNotZero, "luo.flb_header.unused", [](Corrupter& c) {
        const LuoModel& l = c.model().luo;
        c.PatchValue<uint8_t>(l.flb_header_pa + 16 + 64 * l.flbs.size() + 3, 0x5a);
        return absl::OkStatus();
      });

  // --- Tracker ---
  add("tracker_pa_invalid", "tracker",
      "kho-v2: a root table entry made unaligned; kho-v1: a bitmap PA made unaligned",
      Reason::kTrackerPaInvalid, "kho.tracker", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        if (t.format == KhoVersion::kV2) {
          for (const RadixPage& p : t.radix_pages) {
            if (p.level != 4) continue;
            c.PatchValue<uint64_t>(t.root_pa() + 8 * p.prefix, p.pa + 0x10);
            return absl::OkStatus();
          }
          return absl::FailedPreconditionError("needs a radix table below the root");
        }
        if (absl::Status s = Needs(!t.chunks.empty() && !t.chunks[0].entries.empty(),
                                   "needs a kho-v1 chunk entry");
            !s.ok()) {
          return s;
        }
        c.PatchValue<uint64_t>(t.chunks[0].pa + 24, t.chunks[0].entries[0].bitmap_pa + 0x10);
        return absl::OkStatus();
      });
  add("tracker_page_reused", "tracker",
      "kho-v2: two root entries share a subtree; kho-v1: the chunk list loops back",
      Reason::kTrackerPageReused, "kho.tracker", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        if (t.format == KhoVersion::kV2) {
          for (const RadixPage& p : t.radix_pages) {
            if (p.level != 4) continue;
            const uint64_t other = p.prefix == 3 ? 2 : 3;
            c.PatchValue<uint64_t>(t.root_pa() + 8 * other, p.pa);
            return absl::OkStatus();
          }
          return absl::FailedPreconditionError("needs a radix table below the root");
        }
        if (absl::Status s = Needs(!t.chunks.empty(), "needs a kho-v1 chunk"); !s.ok()) return s;
        c.PatchValue<uint64_t>(t.chunks.back().pa, t.chunks.front().pa);
        return absl::OkStatus();
      });
  add("tracker_page_on_folio", "tracker",
      "a radix leaf (kho-v2) or a bitmap (kho-v1) moved onto a preserved folio",
      Reason::kTrackerPagePreserved, "kho.tracker", [](Corrupter& c) {
        absl::StatusOr<uint64_t> folio = c.AddFolio(0);
        if (!folio.ok()) return folio.status();
        TrackerModel& t = c.model().kho.tracker;
        for (RadixPage& p : t.radix_pages) {
          if (p.level == 0) {
            p.pa = *folio;
            return absl::OkStatus();
          }
        }
        for (TrackerChunk& chunk : t.chunks) {
          if (!chunk.entries.empty()) {
            chunk.entries.front().bitmap_pa = *folio;
            return absl::OkStatus();
          }
        }
        return absl::FailedPreconditionError("needs a radix leaf or a kho-v1 bitmap");
      });
  add("tracker_chunk_unused_bytes", "tracker", "kho-v1: a byte after the first chunk's entries",
      Reason::kUnusedBytesNotZero, "kho.tracker.chunks", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        if (absl::Status s = Needs(!t.chunks.empty(), "needs a kho-v1 chunk"); !s.ok()) return s;
        const TrackerChunk& chunk = t.chunks.front();
        c.PatchValue<uint8_t>(chunk.pa + 16 + 16 * chunk.entries.size() + 5, 0x5a);
        return absl::OkStatus();
      });
  add("tracker_bitmaps_overlap", "tracker",
      "kho-v1: a chunk of another order relabelled to the first chunk's order and range, its "
      "bitmap cleared",
      Reason::kTrackerOverlap, "kho.tracker.chunks", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        if (absl::Status s = Needs(!t.chunks.empty() && !t.chunks[0].entries.empty(),
                                   "needs a kho-v1 chunk entry");
            !s.ok()) {
          return s;
        }
        for (const TrackerChunk& other : t.chunks) {
          if (other.order == t.chunks[0].order || other.entries.empty()) continue;
          c.PatchValue<uint32_t>(other.pa + 8, t.chunks[0].order);
          c.PatchValue<uint64_t>(other.pa + 16, t.chunks[0].entries[0].phys_start);
          c.Patch(other.entries[0].bitmap_pa, std::vector<uint8_t>(kPageSize, 0));
          return absl::OkStatus();
        }
        return absl::FailedPreconditionError("needs kho-v1 chunks of two orders");
      });
  add("tracker_bad_key", "tracker", "kho-v2: a subtree at root index 4 (an order below 0)",
      Reason::kTrackerBadKey, "kho.tracker.radix", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        if (absl::Status s = Needs(t.format == KhoVersion::kV2, "needs kho-v2"); !s.ok()) return s;
        for (const RadixPage& p : t.radix_pages) {
          if (p.level == 4) {
            c.PatchValue<uint64_t>(t.root_pa() + 8 * 4, p.pa);
            return absl::OkStatus();
          }
        }
        return absl::FailedPreconditionError("needs a radix table below the root");
      });
  add("tracker_bad_order", "tracker", "kho-v1: a chunk of order 60", Reason::kTrackerBadOrder,
      "kho.tracker.chunks", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        if (absl::Status s =
                Needs(t.format == KhoVersion::kV1 && !t.chunks.empty(), "needs kho-v1");
            !s.ok()) {
          return s;
        }
        c.PatchValue<uint32_t>(t.chunks[0].pa + 8, 60);
        return absl::OkStatus();
      });
  add("tracker_too_many_entries", "tracker", "kho-v1: num_elms 300", Reason::kTrackerTooManyEntries,
      "kho.tracker.chunks", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        if (absl::Status s =
                Needs(t.format == KhoVersion::kV1 && !t.chunks.empty(), "needs kho-v1");
            !s.ok()) {
          return s;
        }
        c.PatchValue<uint32_t>(t.chunks[0].pa + 12, 300);
        return absl::OkStatus();
      });
  add("tracker_unaligned_start", "tracker", "kho-v1: phys_start off by 2 KiB",
      Reason::kTrackerUnalignedStart, "kho.tracker.chunks", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        if (absl::Status s = Needs(
                t.format == KhoVersion::kV1 && !t.chunks.empty() && !t.chunks[0].entries.empty(),
                "needs kho-v1");
            !s.ok()) {
          return s;
        }
        c.PatchValue<uint64_t>(t.chunks[0].pa + 16, t.chunks[0].entries[0].phys_start + 0x800);
        return absl::OkStatus();
      });
  add("tracker_range_overflow", "tracker", "kho-v1: a bitmap starting at 2^64 - 4 KiB",
      Reason::kTrackerRangeOverflow, "kho.tracker.chunks", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        if (absl::Status s = Needs(t.format == KhoVersion::kV1 && !t.chunks.empty() &&
                                       !t.chunks[0].entries.empty() && t.chunks[0].order == 0,
                                   "needs kho-v1 with order-0 folios");
            !s.ok()) {
          return s;
        }
        c.PatchValue<uint64_t>(t.chunks[0].pa + 16, 0xfffffffffffff000ull);
        // Make sure a bit other than 0 is set.
        c.PatchValue<uint8_t>(t.chunks[0].entries[0].bitmap_pa + 4095, 0x80);
        return absl::OkStatus();
      });
  add("tracker_overlap", "tracker", "an order-1 folio over the root FDT page",
      Reason::kTrackerOverlap, "kho.preserved", [](Corrupter& c) {
        HandoffModel& m = c.model();
        std::vector<Folio> folios = m.kho.tracker.folios;
        folios.push_back({m.kho.root_fdt_pa & ~0x1fffull, 1});
        PageAllocator::Config config;
        uint64_t top = 0;
        for (const Folio& f : folios) {
          if (f.order <= 30) top = std::max(top, f.pa + FolioBytes(f.order));
        }
        for (const RadixPage& p : m.kho.tracker.radix_pages) top = std::max(top, p.pa + kPageSize);
        for (const TrackerChunk& ch : m.kho.tracker.chunks) {
          top = std::max(top, ch.pa + kPageSize);
          for (const auto& e : ch.entries) top = std::max(top, e.bitmap_pa + kPageSize);
        }
        config.base = top + (1ull << 20);
        PageAllocator alloc(config);
        absl::StatusOr<TrackerModel> t = PlanTracker(m.kho.version, folios, alloc);
        if (!t.ok()) return t.status();
        m.kho.tracker = *std::move(t);
        m.kho.root_fdt_raw.clear();
        return absl::OkStatus();
      });

  add("tracker_page_preserved", "tracker", "a tracker page's own bit set: it is preserved too",
      Reason::kTrackerPagePreserved, "kho.tracker", [](Corrupter& c) {
        const TrackerModel& t = c.model().kho.tracker;
        for (uint64_t page : t.page_pas()) {
          if (t.format == KhoVersion::kV2) {
            const uint64_t key = kho_radix_key(page, 0);
            for (const RadixPage& leaf : t.radix_pages) {
              if (leaf.level != 0 || (key >> KHO_RADIX_LEAF_BITS) != leaf.prefix) continue;
              const unsigned bit = kho_radix_leaf_index(key);
              c.OrByte(leaf.pa + bit / 8, static_cast<uint8_t>(1u << (bit % 8)));
              return absl::OkStatus();
            }
            continue;
          }
          for (const TrackerChunk& ch : t.chunks) {
            if (ch.order != 0) continue;
            for (const auto& e : ch.entries) {
              if (page < e.phys_start || page - e.phys_start >= KHO_V1_PRESERVE_BITS * kPageSize) {
                continue;
              }
              const uint64_t bit = (page - e.phys_start) >> kPageShift;
              c.OrByte(e.bitmap_pa + bit / 8, static_cast<uint8_t>(1u << (bit % 8)));
              return absl::OkStatus();
            }
          }
        }
        return absl::FailedPreconditionError("no tracker page lies in a bitmap's range");
      });

  // --- Folio claims ---
  add("claim_not_preserved", "claims", "the IOMMU FLB's data points at a tracker page",
      Reason::kClaimNotPreserved, "iommu.flb_ser", [](Corrupter& c) {
        HandoffModel& m = c.model();
        const int i = IommuEntryIndex(m);
        if (absl::Status s = Needs(i >= 0, "needs an IOMMU FLB entry"); !s.ok()) return s;
        const TrackerModel& t = m.kho.tracker;
        m.luo.flbs[static_cast<size_t>(i)].data =
            t.format == KhoVersion::kV2 ? t.root_pa() : t.chunks.front().pa;
        return absl::OkStatus();
      });
  add("claim_wrong_order", "claims", "a domain's top table moved to an order-1 folio",
      Reason::kClaimWrongOrder, "iommu.domains", [](Corrupter& c) {
        absl::StatusOr<uint64_t> pa = c.AddFolio(1);
        if (!pa.ok()) return pa.status();
        return EditDomain(c, [&](IommuDomain& d) { d.top_table_phys = *pa; });
      });
  add("claim_twice", "claims", "a domain's top table is its unit's root table", Reason::kClaimTwice,
      "iommu.domains", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        const int d = LiveDevice(**io);
        if (absl::Status s = Needs(d >= 0, "needs a live device"); !s.ok()) return s;
        IommuDevice& dev = (*io)->devices[static_cast<size_t>(d)];
        const IommuUnit& u = (*io)->units[static_cast<size_t>(dev.unit)];
        if (absl::Status s = Needs(u.type == IOMMU_SER_TYPE_INTEL, "needs an Intel unit");
            !s.ok()) {
          return s;
        }
        (*io)->domains[static_cast<size_t>(dev.domain)].top_table_phys = u.intel().root_table;
        return absl::OkStatus();
      });
  add("claim_outside_image", "claims", "a domain's top table preserved but not in the image",
      Reason::kClaimOutsideImage, "iommu.domains", [](Corrupter& c) {
        absl::StatusOr<uint64_t> pa = c.AddFolio(0, /*in_image=*/false);
        if (!pa.ok()) return pa.status();
        return EditDomain(c, [&](IommuDomain& d) { d.top_table_phys = *pa; });
      });

  // --- IOMMU records ---
  add("iommu_unknown_compatible", "iommu", "rename the IOMMU FLB entry \"iommu-liveupdate-v9\"",
      Reason::kIommuUnknownCompatible, "luo.flb_header.entry", [](Corrupter& c) {
        const int i = IommuEntryIndex(c.model());
        if (absl::Status s = Needs(i >= 0, "needs an IOMMU FLB entry"); !s.ok()) return s;
        FlbEntry& e = c.model().luo.flbs[static_cast<size_t>(i)];
        e = FlbEntry::Make("iommu-liveupdate-v9", e.data, e.count);
        return absl::OkStatus();
      });
  add("iommu_bad_version", "iommu", "ABI B: iommu_flb_ser.version 2", Reason::kIommuBadVersion,
      "iommu.flb_ser.version", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        if (absl::Status s = Needs((*io)->abi == IommuAbi::kB, "needs ABI B"); !s.ok()) return s;
        (*io)->version = 2;
        return absl::OkStatus();
      });
  add("iommu_array_pa_zero", "iommu", "ABI B: device_array_phys = 0", Reason::kIommuArrayPaZero,
      "iommu.flb_ser.device_array_phys", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        if (absl::Status s = Needs((*io)->abi == IommuAbi::kB, "needs ABI B"); !s.ok()) return s;
        c.PatchValue<uint64_t>(DeviceHeadPa(**io), 0);
        return absl::OkStatus();
      });
  add("iommu_too_many_objects", "iommu", "a device page's nr_objects one over its capacity",
      Reason::kIommuTooManyObjects, "iommu.device_pages", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        if (absl::Status s = Needs(!(*io)->device_pages.empty(), "needs a device page"); !s.ok()) {
          return s;
        }
        c.PatchValue<uint64_t>((*io)->device_pages[0].pa + 8,
                               LayoutOf((*io)->abi).devices_per_page + 1);
        return absl::OkStatus();
      });
  add("iommu_chain_cycle", "iommu", "the last device page links back to the first",
      Reason::kIommuChainCycle, "iommu.device_pages", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        const auto& pages = (*io)->device_pages;
        if (absl::Status s = Needs(!pages.empty(), "needs a device page"); !s.ok()) return s;
        c.PatchValue<uint64_t>(pages.back().pa, pages.front().pa);
        return absl::OkStatus();
      });
  add("iommu_page_not_full", "iommu",
      "a device page that is not the last holds one object less (warning)",
      Reason::kIommuPageNotFull, "iommu.device_pages", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        IommuModel& m = **io;
        if (absl::Status s = Needs(m.device_pages.size() >= 2, "needs two device pages"); !s.ok()) {
          return s;
        }
        // Move the first page's last device to the front of the second page:
        // every device stays where it is in the list.
        const uint32_t cap = LayoutOf(m.abi).devices_per_page;
        if (absl::Status s =
                Needs(m.device_pages[1].nr_objects < cap, "needs room in the second page");
            !s.ok()) {
          return s;
        }
        --m.device_pages[0].nr_objects;
        ++m.device_pages[1].nr_objects;
        return absl::OkStatus();
      });
  add("iommu_unknown_flags", "iommu", "flag bit 7 on a device", Reason::kIommuUnknownFlags,
      "iommu.devices", [](Corrupter& c) {
        return EditDevice(c, [](IommuModel&, IommuDevice& d) {
          d.hdr.flags |= 0x80;
          return absl::OkStatus();
        });
      });
  add("iommu_incoming_flag", "iommu", "INCOMING on a device", Reason::kIommuIncomingFlag,
      "iommu.devices", [](Corrupter& c) {
        return EditDevice(c, [](IommuModel&, IommuDevice& d) {
          d.hdr.flags |= IOMMU_SER_FLAG_INCOMING;
          return absl::OkStatus();
        });
      });
  add("iommu_restored_field_set", "iommu", "restored_domain set to a kernel pointer",
      Reason::kIommuRestoredFieldSet, "iommu.domains", [](Corrupter& c) {
        return EditDomain(c, [](IommuDomain& d) { d.restored_domain = 0xffff888012345000ull; });
      });
  add("iommu_reserved_not_zero", "iommu", "A: bit 1 of the sign_extend byte; B: domain padding",
      Reason::kIommuReservedNotZero, "iommu.domains", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        const bool a = (*io)->abi == IommuAbi::kA;
        return EditDomain(c, [a](IommuDomain& d) {
          if (a) {
            d.sign_extend |= 2;
          } else {
            d.padding[1] = 1;
          }
        });
      });
  add("iommu_unknown_type", "iommu", "a unit of type 7", Reason::kIommuUnknownType, "iommu.units",
      [](Corrupter& c) { return EditUnit(c, [](IommuUnit& u) { u.type = 7; }); });
  add("iommu_arm_mismatch", "iommu", "ABI B: bytes past the SMMUv3 arm of an SMMUv3 unit",
      Reason::kIommuArmMismatch, "iommu.units", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        for (IommuUnit& u : (*io)->units) {
          if (!u.hdr.deleted() && u.type == IOMMU_SER_TYPE_ARM_SMMUV3) {
            u.arch[60] = 0x42;
            return absl::OkStatus();
          }
        }
        return absl::FailedPreconditionError("needs an SMMUv3 unit (ABI B)");
      });
  add("iommu_ref_dangling", "iommu", "a device's domain_phys into no array page",
      Reason::kIommuRefDangling, "iommu.devices", [](Corrupter& c) {
        return EditDevice(c, [](IommuModel&, IommuDevice& d) {
          d.domain_phys = 0x1234000;
          return absl::OkStatus();
        });
      });
  add("iommu_ref_wrong_type", "iommu", "a device's domain_phys at its unit",
      Reason::kIommuRefWrongType, "iommu.devices", [](Corrupter& c) {
        return EditDevice(c, [](IommuModel&, IommuDevice& d) {
          d.domain_phys = d.iommu_phys;
          return absl::OkStatus();
        });
      });
  add("iommu_ref_misaligned", "iommu", "a device's domain_phys 4 bytes into its domain",
      Reason::kIommuRefMisaligned, "iommu.devices", [](Corrupter& c) {
        return EditDevice(c, [](IommuModel&, IommuDevice& d) {
          d.domain_phys += 4;
          return absl::OkStatus();
        });
      });
  add("iommu_ref_past_end", "iommu", "a device's domain_phys at the slot after the last domain",
      Reason::kIommuRefPastEnd, "iommu.devices", [](Corrupter& c) {
        return EditDevice(c, [](IommuModel& m, IommuDevice& d) {
          const IommuArrayPage& last = m.domain_pages.back();
          const uint32_t size = LayoutOf(m.abi).domain_size;
          if (last.nr_objects >= LayoutOf(m.abi).domains_per_page) {
            return absl::FailedPreconditionError("needs room after the last domain");
          }
          d.domain_phys = last.pa + 16 + last.nr_objects * size;
          return absl::OkStatus();
        });
      });
  add("iommu_ref_deleted", "iommu", "flag a live device's domain DELETED", Reason::kIommuRefDeleted,
      "iommu.devices", [](Corrupter& c) {
        return EditDomain(c, [](IommuDomain& d) { d.hdr.flags |= IOMMU_SER_FLAG_DELETED; });
      });
  add("iommu_duplicate_device", "iommu", "a second live device with the first one's id",
      Reason::kIommuDuplicateDevice, "iommu.devices", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        const int a = LiveDevice(**io), b = LiveDevice(**io, a);
        if (absl::Status s = Needs(a >= 0 && b >= 0, "needs two live devices"); !s.ok()) return s;
        IommuDevice& x = (*io)->devices[static_cast<size_t>(a)];
        IommuDevice& y = (*io)->devices[static_cast<size_t>(b)];
        y.devid = x.devid;
        y.pci_domain_nr = x.pci_domain_nr;
        return absl::OkStatus();
      });
  add("iommu_duplicate_unit", "iommu", "a second Intel unit with the first one's token",
      Reason::kIommuDuplicateUnit, "iommu.units", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        const int a = IntelUnit(**io), b = IntelUnit(**io, a);
        if (absl::Status s = Needs(a >= 0 && b >= 0, "needs two Intel units"); !s.ok()) return s;
        (*io)->units[static_cast<size_t>(b)].token = (*io)->units[static_cast<size_t>(a)].token;
        return absl::OkStatus();
      });
  add("iommu_ref_count_mismatch", "iommu", "a unit's ref_count off by 5 (warning)",
      Reason::kIommuRefCountMismatch, "iommu.units",
      [](Corrupter& c) { return EditUnit(c, [](IommuUnit& u) { u.hdr.ref_count += 5; }); });
  add("iommu_token_mismatch", "iommu", "an Intel unit's token differs from phys_addr (warning)",
      Reason::kIommuTokenMismatch, "iommu.units",
      [](Corrupter& c) { return EditUnit(c, [](IommuUnit& u) { u.token ^= 0x1000; }); });
  add("iommu_mmio_in_image", "iommu", "an Intel unit's register base inside the image (warning)",
      Reason::kIommuMmioInImage, "iommu.units", [](Corrupter& c) {
        const uint64_t pa = c.model().luo.fdt_pa;
        return EditUnit(c, [pa](IommuUnit& u) {
          iommu_intel_ser in = u.intel();
          in.phys_addr = pa;
          u.set_intel(in);
          u.token = pa;
        });
      });
  add("iommu_id_too_wide", "iommu", "a device's devid above 16 bits (warning)",
      Reason::kIommuIdTooWide, "iommu.devices", [](Corrupter& c) {
        return EditDevice(c, [](IommuModel&, IommuDevice& d) {
          d.devid |= 0x10000;
          return absl::OkStatus();
        });
      });
  add("iommu_context_bitmap_set", "iommu", "a preserved context table bit (warning)",
      Reason::kIommuContextBitmapSet, "iommu.units", [](Corrupter& c) {
        return EditUnit(c, [](IommuUnit& u) {
          iommu_intel_ser in = u.intel();
          in.context_tables_bitmap[0] = 1;
          u.set_intel(in);
        });
      });

  // --- PASID structures ---
  auto pasid_device = [](Corrupter& c,
                         const std::function<absl::Status(IommuModel&, IommuDevice&)>& edit) {
    absl::StatusOr<IommuModel*> io = c.iommu();
    if (!io.ok()) return io.status();
    const int d = PasidDevice(**io);
    if (absl::Status s = Needs(d >= 0, "needs a device with PASID tables"); !s.ok()) return s;
    return edit(**io, (*io)->devices[static_cast<size_t>(d)]);
  };
  add("pasid_presence_mismatch", "pasid", "max_pasid 0 with a directory",
      Reason::kPasidPresenceMismatch, "iommu.devices", [pasid_device](Corrupter& c) {
        return pasid_device(c, [&c](IommuModel& m, IommuDevice& d) {
          const uint64_t pa =
              m.ObjectPa(IommuObjectKind::kDevice, static_cast<size_t>(&d - m.devices.data()));
          c.PatchValue<uint64_t>(pa + (m.abi == IommuAbi::kA ? 48 : 64), 0);
          return absl::OkStatus();
        });
      });
  add("pasid_dir_misaligned", "pasid", "pasid_table 2 KiB into the directory",
      Reason::kPasidDirMisaligned, "iommu.devices", [pasid_device](Corrupter& c) {
        return pasid_device(c, [&c](IommuModel& m, IommuDevice& d) {
          // Patched after encoding, so the directory itself stays put.
          const uint64_t pa =
              m.ObjectPa(IommuObjectKind::kDevice, static_cast<size_t>(&d - m.devices.data()));
          c.PatchValue<uint64_t>(pa + (m.abi == IommuAbi::kA ? 40 : 56),
                                 d.pasid_table(m.abi) + 0x800);
          return absl::OkStatus();
        });
      });
  add("pasid_bad_max", "pasid", "max_pasid 3 << 15 (not a power of two)", Reason::kPasidBadMax,
      "iommu.devices", [pasid_device](Corrupter& c) {
        return pasid_device(c, [&c](IommuModel& m, IommuDevice& d) {
          const uint64_t pa =
              m.ObjectPa(IommuObjectKind::kDevice, static_cast<size_t>(&d - m.devices.data()));
          c.PatchValue<uint64_t>(pa + (m.abi == IommuAbi::kA ? 48 : 64), 3ull << 15);
          return absl::OkStatus();
        });
      });
  add("pasid_dir_order", "pasid", "max_pasid twice (or half) what the directory folio holds",
      Reason::kPasidDirOrder, "iommu.devices", [pasid_device](Corrupter& c) {
        return pasid_device(c, [&c](IommuModel& m, IommuDevice& d) {
          const uint64_t max = d.max_pasid(m.abi);
          const uint64_t other = max == VTD_PASID_MAX ? max / 2 : max * 2;
          const uint64_t pa =
              m.ObjectPa(IommuObjectKind::kDevice, static_cast<size_t>(&d - m.devices.data()));
          c.PatchValue<uint64_t>(pa + (m.abi == IommuAbi::kA ? 48 : 64), other);
          return absl::OkStatus();
        });
      });
  add("pasid_dir_entry_reserved", "pasid", "bit 2 of dir[0]", Reason::kPasidDirEntryReserved,
      "iommu.devices", [pasid_device](Corrupter& c) {
        return pasid_device(c, [](IommuModel&, IommuDevice& d) {
          d.pasid.tables[0].pde |= 1ull << 2;
          return absl::OkStatus();
        });
      });
  add("pasid_dir_entry_stale", "pasid", "a non-present directory entry with a table PA (warning)",
      Reason::kPasidDirEntryStale, "iommu.devices", [pasid_device](Corrupter& c) {
        return pasid_device(c, [](IommuModel& m, IommuDevice& d) {
          const uint32_t last =
              static_cast<uint32_t>(vtd_pasid_dir_entries(d.max_pasid(m.abi)) - 1);
          if (d.pasid.TableFor(last) != nullptr) {
            return absl::FailedPreconditionError("the last directory entry is in use");
          }
          d.pasid.stale_dir_entries.push_back({last, 0x7000});
          return absl::OkStatus();
        });
      });
  add("pasid_table_not_preserved", "pasid",
      "a present directory entry pointing at an unpreserved page", Reason::kClaimNotPreserved,
      "iommu.devices", [pasid_device](Corrupter& c) {
        return pasid_device(c, [&c](IommuModel& m, IommuDevice& d) {
          const uint32_t last =
              static_cast<uint32_t>(vtd_pasid_dir_entries(d.max_pasid(m.abi)) - 1);
          if (d.pasid.TableFor(last) != nullptr) {
            return absl::FailedPreconditionError("the last directory entry is in use");
          }
          const TrackerModel& t = c.model().kho.tracker;
          const uint64_t page = t.format == KhoVersion::kV2 ? t.root_pa() : t.chunks.front().pa;
          const uint64_t dir = d.pasid_table(m.abi);
          c.PatchValue<uint64_t>(dir + 8ull * last, page | VTD_PDE_PRESENT);
          return absl::OkStatus();
        });
      });
  add("pasid_table_shared", "pasid", "two devices' dir[0] point at one table", Reason::kClaimTwice,
      "iommu.devices", [](Corrupter& c) {
        absl::StatusOr<IommuModel*> io = c.iommu();
        if (!io.ok()) return io.status();
        const int a = PasidDevice(**io), b = PasidDevice(**io, a);
        if (absl::Status s = Needs(a >= 0 && b >= 0, "needs two devices with PASID tables");
            !s.ok()) {
          return s;
        }
        const IommuDevice& x = (*io)->devices[static_cast<size_t>(a)];
        const IommuDevice& y = (*io)->devices[static_cast<size_t>(b)];
        c.PatchValue<uint64_t>(y.pasid_table((*io)->abi), x.pasid.tables[0].pde);
        return absl::OkStatus();
      });
  add("pasid_entry_reserved", "pasid", "bit 10 of PASID 0's qword 0", Reason::kPasidEntryReserved,
      "iommu.devices",
      [](Corrupter& c) { return EditPasid(c, 0, [](pasid_entry& e) { e.val[0] |= 1ull << 10; }); });
  add("pasid_entry_high_qwords", "pasid", "qword 5 of PASID 0 set", Reason::kPasidEntryHighQwords,
      "iommu.devices",
      [](Corrupter& c) { return EditPasid(c, 0, [](pasid_entry& e) { e.val[5] = 1; }); });
  add("pasid_entry_pgtt", "pasid", "PASID 0's PGTT 6", Reason::kPasidEntryPgtt, "iommu.devices",
      [](Corrupter& c) {
        return EditPasid(c, 0, [](pasid_entry& e) {
          e.val[0] = (e.val[0] & ~VTD_PE0_PGTT_MASK) | (6ull << VTD_PE0_PGTT_SHIFT);
        });
      });
  add("pasid_entry_aw", "pasid", "PASID 0's AW 5", Reason::kPasidEntryAw, "iommu.devices",
      [](Corrupter& c) {
        return EditPasid(c, 0, [](pasid_entry& e) {
          e.val[0] = (e.val[0] & ~VTD_PE0_AW_MASK) | (5ull << VTD_PE0_AW_SHIFT);
        });
      });
  add("pasid_entry_flpm", "pasid", "PASID 0 as first level with FLPM 3", Reason::kPasidEntryFlpm,
      "iommu.devices", [](Corrupter& c) {
        return EditPasid(c, 0, [](pasid_entry& e) {
          MakeFirstLevel(e);
          e.val[2] |= 3ull << VTD_PE2_FLPM_SHIFT;
        });
      });
  add("pasid_entry_no_slptptr", "pasid", "PASID 0 without SLPTPTR", Reason::kPasidEntryNoSlptptr,
      "iommu.devices", [](Corrupter& c) {
        return EditPasid(c, 0, [](pasid_entry& e) { e.val[0] &= ~VTD_PE0_SLPTPTR_MASK; });
      });
  add("pasid_entry_no_flptptr", "pasid", "PASID 0 as first level without FLPTPTR",
      Reason::kPasidEntryNoFlptptr, "iommu.devices", [](Corrupter& c) {
        return EditPasid(c, 0, [](pasid_entry& e) {
          MakeFirstLevel(e);
          e.val[2] = 0;
        });
      });
  add("pasid_entry_stale", "pasid", "a non-present entry with bits set (warning)",
      Reason::kPasidEntryStale, "iommu.devices", [](Corrupter& c) {
        return EditPasid(c, 63, [](pasid_entry& e) {
          if (!vtd_pe_present(&e)) e.val[1] = 42;
        });
      });
  add(
      "pasid_policy_dir_entry", "pasid",
      "NO_PASID only: a second directory entry with its own table (PASIDs 64-127)",
      Reason::kPasidPolicyDirEntry, "iommu.devices",
      [pasid_device](Corrupter& c) {
        absl::StatusOr<uint64_t> table = c.AddFolio(0);
        if (!table.ok()) return table.status();
        return pasid_device(c, [&](IommuModel&, IommuDevice& d) {
          if (d.pasid.TableFor(1) != nullptr)
            return absl::FailedPreconditionError("dir[1] is in use");
          PasidTable t;
          t.dir_index = 1;
          t.pde = *table | VTD_PDE_PRESENT;
          t.entries.Set(0, d.pasid.tables[0].entries.Get(0));  // PASID 64
          d.pasid.tables.insert(d.pasid.tables.begin() + 1, std::move(t));
          return absl::OkStatus();
        });
      },
      PasidPolicy::kNoPasidOnly);
  add(
      "pasid_policy_pasid_in_use", "pasid",
      "NO_PASID only: PASID 5 present in table 0 (the seed's scenario)",
      Reason::kPasidPolicyPasidInUse, "iommu.devices",
      [pasid_device](Corrupter& c) {
        return pasid_device(c, [](IommuModel&, IommuDevice& d) {
          d.pasid.tables[0].entries.Set(5, d.pasid.tables[0].entries.Get(0));
          return absl::OkStatus();
        });
      },
      PasidPolicy::kNoPasidOnly);
  add(
      "pasid_policy_no_pasid0", "pasid", "NO_PASID only: PASID 0 cleared",
      Reason::kPasidPolicyNoPasid0, "iommu.devices",
      [](Corrupter& c) {
        return EditPasid(c, 0, [](pasid_entry& e) { std::memset(&e, 0, sizeof e); });
      },
      PasidPolicy::kNoPasidOnly);
  add("pasid0_did_mismatch", "pasid", "PASID 0's DID differs from attachment_id (warning)",
      Reason::kPasid0DidMismatch, "iommu.devices",
      [](Corrupter& c) { return EditPasid(c, 0, [](pasid_entry& e) { e.val[1] ^= 1; }); });
  add("pasid0_pointer_mismatch", "pasid", "PASID 0's SLPTPTR off by a page (warning)",
      Reason::kPasid0PointerMismatch, "iommu.devices",
      [](Corrupter& c) { return EditPasid(c, 0, [](pasid_entry& e) { e.val[0] += 0x1000; }); });
  add("pasid0_aw_mismatch", "pasid", "PASID 0's AW one level off (warning)",
      Reason::kPasid0AwMismatch, "iommu.devices", [](Corrupter& c) {
        return EditPasid(c, 0, [](pasid_entry& e) {
          const unsigned aw = vtd_pe_aw(&e);
          const uint64_t other = aw == 1 ? 2 : aw - 1;
          e.val[0] = (e.val[0] & ~VTD_PE0_AW_MASK) | (other << VTD_PE0_AW_SHIFT);
        });
      });
  return v;
}

}  // namespace

const std::vector<CorruptionClass>& CorruptionClasses() {
  static const auto* const kClasses = new std::vector<CorruptionClass>(MakeClasses());
  return *kClasses;
}

const CorruptionClass* FindCorruption(absl::string_view name) {
  for (const CorruptionClass& c : CorruptionClasses()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

absl::StatusOr<std::string> ApplyCorruption(const CorruptionClass& c, const HandoffModel& valid) {
  Corrupter corrupter(valid);
  if (absl::Status s = c.apply(corrupter); !s.ok()) return s;
  return corrupter.Finish();
}

absl::StatusOr<std::string> ApplyCorruption(const CorruptionClass& c, const HandoffModel& valid,
                                            std::function<std::string(const Image&)> writer) {
  Corrupter corrupter(valid);
  corrupter.WriteFileWith(std::move(writer));
  if (absl::Status s = c.apply(corrupter); !s.ok()) return s;
  return corrupter.Finish();
}

}  // namespace khoabi
