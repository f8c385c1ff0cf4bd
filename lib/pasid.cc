#include "lib/pasid.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "lib/decode_scratch.h"

namespace khoabi {
namespace {

constexpr uint32_t kEntryBytes = sizeof(pasid_entry);

uint64_t Load(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// NextNonZero: index of the first non-zero directory entry at or after
// `from`, or `entries`. Directories are mostly zero (a device uses a few of
// up to 16384 entries): a tight loop over 128 bytes at a time.
uint32_t NextNonZero(const uint8_t* dir, uint32_t from, uint64_t entries) {
  constexpr uint64_t kStride = 16;
  uint64_t d = from;
  while (d % kStride != 0 && d < entries) {
    if (Load(dir + 8 * d) != 0) return static_cast<uint32_t>(d);
    ++d;
  }
  for (; d + kStride <= entries; d += kStride) {
    uint64_t any = 0;
    for (uint64_t i = 0; i < kStride; ++i) any |= Load(dir + 8 * (d + i));
    if (any != 0) break;
  }
  for (; d < entries; ++d) {
    if (Load(dir + 8 * d) != 0) break;
  }
  return static_cast<uint32_t>(d);
}

struct EntryReason {
  unsigned bit;
  Reason reason;
  const char* what;
};

constexpr EntryReason kEntryReasons[] = {
    {VTD_PE_BAD_RESERVED, Reason::kPasidEntryReserved, "reserved bits set"},
    {VTD_PE_BAD_HIGH_QWORDS, Reason::kPasidEntryHighQwords, "qwords 3-7 not zero"},
    {VTD_PE_BAD_PGTT, Reason::kPasidEntryPgtt, "invalid PGTT"},
    {VTD_PE_BAD_AW, Reason::kPasidEntryAw, "invalid AW"},
    {VTD_PE_BAD_FLPM, Reason::kPasidEntryFlpm, "invalid FLPM"},
    {VTD_PE_BAD_NO_SLPTPTR, Reason::kPasidEntryNoSlptptr, "no SLPTPTR"},
    {VTD_PE_BAD_NO_FLPTPTR, Reason::kPasidEntryNoFlptptr, "no FLPTPTR"},
    {VTD_PE_BAD_STALE, Reason::kPasidEntryStale, "not present, bits set"},
};

// Reports each problem bit of one entry. Cold: only reached for bad entries.
bool ReportEntry(unsigned bad, const pasid_entry& e, uint64_t pa, DecodeContext& ctx) {
  bool ok = true;
  for (const EntryReason& r : kEntryReasons) {
    if ((bad & r.bit) == 0) continue;
    ok = !ctx.Report(r.reason, pa, "%s (qwords %#llx %#llx %#llx, PGTT %u)", r.what,
                     static_cast<unsigned long long>(e.val[0]),
                     static_cast<unsigned long long>(e.val[1]),
                     static_cast<unsigned long long>(e.val[2]), vtd_pe_pgtt(&e)) &&
         ok;
  }
  return ok;
}

// PASID 0 against its domain: warnings until the kernel's behaviour is the
// contract (spec/vtd-pasid.md, "candidate checks"). Verified against
// drivers/iommu/intel/pasid.c (pasid_pte_config_second_level and
// _first_level): DID = domain_id_iommu(), SLPTPTR (FLPTPTR for first level) =
// the top table, AW = generic-pt top_level - 1 for second level.
void CheckPasid0(const pasid_entry& e, uint64_t pa, const PasidAttachment& att,
                 DecodeContext& ctx) {
  const unsigned pgtt = vtd_pe_pgtt(&e);
  if (att.domain == nullptr || pgtt == VTD_PGTT_PT || pgtt == VTD_PGTT_NESTED) return;
  if (vtd_pe_did(&e) != att.attachment_id) {
    ctx.Report(Reason::kPasid0DidMismatch, pa, "DID %u, attachment_id %llu", vtd_pe_did(&e),
               static_cast<unsigned long long>(att.attachment_id));
  }
  if (att.domain->top_table_phys == 0) return;
  const uint64_t ptr = pgtt == VTD_PGTT_SL_ONLY ? vtd_pe_slptptr(&e) : vtd_pe_flptptr(&e);
  if (ptr != att.domain->top_table_phys) {
    ctx.Report(Reason::kPasid0PointerMismatch, pa, "%s %#llx, domain top table %#llx",
               pgtt == VTD_PGTT_SL_ONLY ? "SLPTPTR" : "FLPTPTR",
               static_cast<unsigned long long>(ptr),
               static_cast<unsigned long long>(att.domain->top_table_phys));
  }
  if (pgtt == VTD_PGTT_SL_ONLY && vtd_pe_aw(&e) + 1 != att.domain->top_level) {
    ctx.Report(Reason::kPasid0AwMismatch, pa, "AW %u, domain top_level %llu", vtd_pe_aw(&e),
               static_cast<unsigned long long>(att.domain->top_level));
  }
}

// Bit i set: entry i of the `count` (<= 64) at `entries` is present.
uint64_t PresentMask(const uint8_t* entries, uint32_t count) {
  uint64_t mask = 0;
  for (uint32_t i = 0; i < count; ++i) {
    mask |= (Load(entries + i * kEntryBytes) & VTD_PE0_PRESENT) << i;
  }
  return mask;
}

// Validates one present table. Returns false if an error was reported.
bool CheckTable(const uint8_t* page, uint64_t table_pa, uint32_t dir_index, PasidPolicy policy,
                const PasidAttachment& att, bool* pasid0_present, DecodeContext& ctx) {
  bool ok = true;
  // Entry i, known well formed or not; false when decoding must stop.
  auto visit = [&](uint32_t i, bool known_clean) {
    const uint8_t* p = page + i * kEntryBytes;
    const uint64_t q0 = Load(p);
    if (!(q0 & VTD_PE0_PRESENT)) {
      if (known_clean) return true;  // absent and well formed: all zero
      // Non-present: only leftovers matter (a warning), so look at the rest
      // only when the whole entry is not zero.
      uint64_t any = q0;
      for (uint32_t q = 1; q < 8; ++q) any |= Load(p + 8 * q);
      if (any == 0) return true;
    }
    pasid_entry e;
    std::memcpy(&e, p, sizeof e);
    const unsigned bad = known_clean ? 0 : vtd_pasid_entry_problems(&e);
    const bool present = (q0 & VTD_PE0_PRESENT) != 0;
    const bool is_pasid0 = dir_index == 0 && i == 0;
    // Under NO_PASID only, a table other than table 0 is already reported at
    // its directory entry; here only table 0's entries matter.
    const bool policy_violation =
        present && policy == PasidPolicy::kNoPasidOnly && dir_index == 0 && !is_pasid0;
    if (bad == 0 && !is_pasid0 && !policy_violation) {
      return true;  // the common case: a well-formed entry the policy allows
    }
    Path::Scope s = ctx.path.Enter("table", i);
    const uint64_t pa = table_pa + i * kEntryBytes;
    if (bad != 0) ok = ReportEntry(bad, e, pa, ctx) && ok;
    if (policy_violation) {
      ok = !ctx.Report(Reason::kPasidPolicyPasidInUse, pa,
                       "PASID %u is present; only IOMMU_NO_PASID may be handed over",
                       (dir_index << VTD_PASID_PDE_SHIFT) | i) &&
           ok;
    }
    if (present && is_pasid0) {
      *pasid0_present = true;
      if (bad == 0) CheckPasid0(e, pa, att, ctx);
    }
    return !ctx.stop();
  };
  // PASID 0 always takes the entry-by-entry walk: it is compared with its
  // domain (warnings) and its presence is recorded. The other entries take
  // it only if something among them is to be reported; when all of them are
  // well formed, only the present ones of table 0 can be (under kNoPasidOnly).
  const uint32_t first = dir_index == 0 ? 1 : 0;
  const uint8_t* rest = page + first * kEntryBytes;
  const uint32_t rest_count = VTD_PASID_TBL_ENTRIES - first;
  if (!PasidEntriesClean(rest, rest_count)) {
    for (uint32_t i = 0; i < VTD_PASID_TBL_ENTRIES; ++i) {
      if (!visit(i, false)) return false;
    }
    return ok;
  }
  for (uint32_t i = 0; i < first; ++i) {
    if (!visit(i, false)) return false;
  }
  if (policy == PasidPolicy::kNoPasidOnly && dir_index == 0) {
    for (uint64_t m = PresentMask(rest, rest_count); m != 0; m &= m - 1) {
      if (!visit(first + static_cast<uint32_t>(__builtin_ctzll(m)), true)) return false;
    }
  }
  return ok;
}

}  // namespace

namespace {

// What vtd_pasid_entry_problems requires of a present entry beyond its
// qword-0 bits 8:0 (present, FPD, AW, SLEE, PGTT), per value of those bits,
// read off that very function (so the rules stay in abi/vtd_pasid.h):
constexpr uint8_t kRuleBad = 1;      // a problem whatever the rest (PGTT, AW)
constexpr uint8_t kRuleNeedsSl = 2;  // SLPTPTR must not be 0
constexpr uint8_t kRuleNeedsFl = 4;  // FLPTPTR must not be 0, FLPM must be 0-1
struct EntryRules {
  uint8_t rule[512];
};

EntryRules TabulateRules() {
  EntryRules t{};
  constexpr uint64_t kPtr = uint64_t{1} << 12;  // a non-zero pointer field
  for (uint32_t bits = 0; bits < 512; ++bits) {
    if (!(bits & VTD_PE0_PRESENT)) continue;  // checked word-wise: all zero
    pasid_entry e{};
    e.val[0] = bits | kPtr;
    e.val[2] = kPtr;
    if (vtd_pasid_entry_problems(&e) != 0) t.rule[bits] |= kRuleBad;
    e.val[0] = bits;
    if (vtd_pasid_entry_problems(&e) & VTD_PE_BAD_NO_SLPTPTR) t.rule[bits] |= kRuleNeedsSl;
    e.val[0] = bits | kPtr;
    e.val[2] = 0;
    if (vtd_pasid_entry_problems(&e) & VTD_PE_BAD_NO_FLPTPTR) t.rule[bits] |= kRuleNeedsFl;
  }
  return t;
}

// Made on first use: safe to call from other static initializers.
const EntryRules& Rules() {
  static const EntryRules rules = TabulateRules();
  return rules;
}

}  // namespace

bool PasidEntriesClean(const uint8_t* entries, uint32_t count) {
  // Word-wise: reserved bits of present entries, qwords 3-7 of all, every
  // bit of absent ones (leftovers); `rules`: PGTT, AW, pointers, FLPM. No
  // branch per entry: 64 bytes of loads and some forty instructions.
  const EntryRules& table = Rules();
  uint64_t words = 0;
  unsigned rules = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* p = entries + i * kEntryBytes;
    const uint64_t q0 = Load(p), q1 = Load(p + 8), q2 = Load(p + 16);
    const uint64_t high = Load(p + 24) | Load(p + 32) | Load(p + 40) | Load(p + 48) | Load(p + 56);
    // Absent entries must be all zero. Most tables are a few present entries
    // and zeros, so this one branch is predictable; it saves the rest.
    if (!(q0 & VTD_PE0_PRESENT)) {
      words |= q0 | q1 | q2 | high;
      continue;
    }
    words |= (q0 & VTD_PE0_RESERVED) | (q1 & VTD_PE1_RESERVED) | (q2 & VTD_PE2_RESERVED) | high;
    const unsigned missing =
        kRuleBad | (static_cast<unsigned>((q0 & VTD_PE0_SLPTPTR_MASK) == 0) * kRuleNeedsSl) |
        (static_cast<unsigned>((q2 & VTD_PE2_FLPTPTR_MASK) == 0 ||
                               ((q2 & VTD_PE2_FLPM_MASK) >> VTD_PE2_FLPM_SHIFT) > VTD_FLPM_5LEVEL) *
         kRuleNeedsFl);
    rules |= table.rule[q0 & 0x1ff] & missing;
  }
  return words == 0 && rules == 0;
}

absl::Status EncodePasid(const PasidState& state, uint64_t dir_pa, uint64_t max_pasid,
                         ImageBuilder& builder) {
  const int order = vtd_pasid_stored_max_order(max_pasid);
  if (order < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("max_pasid %u sizes no PASID directory", max_pasid));
  }
  std::vector<uint8_t> dir(FolioBytes(static_cast<unsigned>(order)), 0);
  const uint64_t entries = vtd_pasid_dir_entries(max_pasid);
  for (const auto& [index, value] : state.stale_dir_entries) {
    if (index >= entries) return absl::InvalidArgumentError("stale entry beyond the directory");
    std::memcpy(dir.data() + index * 8, &value, 8);
  }
  for (const PasidTable& t : state.tables) {
    if (t.dir_index >= entries) {
      return absl::InvalidArgumentError(
          absl::StrFormat("PASID table at directory index %u beyond the directory", t.dir_index));
    }
    std::memcpy(dir.data() + t.dir_index * 8, &t.pde, 8);
    std::vector<uint8_t> page(kPageSize);
    t.entries.Write(page.data());
    if (absl::Status s = builder.Put(t.pa(), std::move(page)); !s.ok()) return s;
  }
  return builder.Put(dir_pa, std::move(dir));
}

bool DecodePasid(uint64_t pasid_table, uint64_t max_pasid, PasidPolicy policy,
                 const PasidAttachment& att, DecodeContext& ctx, uint64_t* tables_seen,
                 PasidState* out) {
  out->stale_dir_entries.clear();
  out->tables.clear();
  if (pasid_table == 0 && max_pasid == 0) return true;  // no PASID state handed over
  if (pasid_table == 0 || max_pasid == 0) {
    ctx.Report(Reason::kPasidPresenceMismatch, att.device_pa, "pasid_table %#llx, max_pasid %llu",
               static_cast<unsigned long long>(pasid_table),
               static_cast<unsigned long long>(max_pasid));
    return false;
  }
  {
    Path::Scope s = ctx.path.Enter("pasid_table");
    if ((pasid_table & (kPageSize - 1)) != 0) {
      ctx.Report(Reason::kPasidDirMisaligned, pasid_table, "not page aligned");
      return false;
    }
  }
  const int order = vtd_pasid_stored_max_order(max_pasid);
  if (order < 0) {
    Path::Scope s = ctx.path.Enter("max_pasid");
    ctx.Report(Reason::kPasidBadMax, att.device_pa, "max_pasid %#llx",
               static_cast<unsigned long long>(max_pasid));
    return false;
  }
  {
    Path::Scope s = ctx.path.Enter("pasid_table");
    if (!ctx.memory.Claim(pasid_table, static_cast<uint32_t>(order), ctx.path, ctx.diag,
                          Reason::kPasidDirOrder)) {
      return false;
    }
  }
  const uint64_t entries = vtd_pasid_dir_entries(max_pasid);
  const uint8_t* dir = ctx.reader.Bytes(pasid_table, entries * 8).data();
  if (!ctx.Charge(entries)) return false;

  DecodeScratch own;
  DecodeScratch& scratch = ScratchFor(ctx, own);
  bool ok = true;
  bool dir0_present = false, dir0_malformed = false, pasid0_present = false;
  for (uint32_t d = NextNonZero(dir, 0, entries); d < entries;
       d = NextNonZero(dir, d + 1, entries)) {
    const uint64_t pde = Load(dir + 8 * d);
    const unsigned bad = vtd_pde_problems(pde);
    const bool present = (pde & VTD_PDE_PRESENT) != 0;
    if (bad != 0) {
      Path::Scope s = ctx.path.Enter("pasid_dir", d);
      if (bad & VTD_PDE_BAD_RESERVED) {
        ok = !ctx.Report(Reason::kPasidDirEntryReserved, pasid_table + 8 * d,
                         "directory entry %#llx", static_cast<unsigned long long>(pde)) &&
             ok;
      }
      if (bad & VTD_PDE_BAD_STALE) {
        ctx.Report(Reason::kPasidDirEntryStale, pasid_table + 8 * d, "directory entry %#llx",
                   static_cast<unsigned long long>(pde));
      }
      if (ctx.stop()) return false;
    }
    if (!present) {
      scratch.pasid_stale.TakeInto(out->stale_dir_entries);
      out->stale_dir_entries.emplace_back(d, pde);
      continue;
    }
    Path::Scope s = ctx.path.Enter("pasid_dir", d);
    if (d == 0) {
      dir0_present = true;
      dir0_malformed = (bad & VTD_PDE_BAD_RESERVED) != 0;
    } else if (policy == PasidPolicy::kNoPasidOnly) {
      ok = !ctx.Report(Reason::kPasidPolicyDirEntry, pasid_table + 8 * d,
                       "PASIDs %u-%u have a table; only IOMMU_NO_PASID may be handed over",
                       d << VTD_PASID_PDE_SHIFT, ((d + 1) << VTD_PASID_PDE_SHIFT) - 1) &&
           ok;
      if (ctx.stop()) return false;
    }
    if (bad & VTD_PDE_BAD_RESERVED) continue;  // do not follow a malformed entry
    if (++*tables_seen > ctx.options.max_pasid_tables) {
      ctx.Report(Reason::kLimitPasidTables, pasid_table + 8 * d, "more than %llu PASID tables",
                 static_cast<unsigned long long>(ctx.options.max_pasid_tables));
      return false;
    }
    const uint64_t table_pa = vtd_pde_table_phys(pde);
    if (!ctx.memory.Claim(table_pa, 0, ctx.path, ctx.diag)) {
      ok = false;
      if (ctx.stop()) return false;
      continue;
    }
    if (!ctx.Charge(kPageSize / 8)) return false;
    const uint8_t* page = ctx.reader.Bytes(table_pa, kPageSize).data();
    ok = CheckTable(page, table_pa, d, policy, att, &pasid0_present, ctx) && ok;
    scratch.pasid_tables.TakeInto(out->tables);
    out->tables.push_back({d, pde, PasidTableContent::View(page)});
    if (ctx.stop()) return false;
  }
  // A dir[0] too malformed to follow says nothing about PASID 0.
  if (policy == PasidPolicy::kNoPasidOnly && !dir0_malformed &&
      (!dir0_present || !pasid0_present)) {
    ok = !ctx.Report(Reason::kPasidPolicyNoPasid0, pasid_table, "%s is not present",
                     dir0_present ? "PASID 0" : "dir[0]") &&
         ok;
  }
  return ok;
}

}  // namespace khoabi
