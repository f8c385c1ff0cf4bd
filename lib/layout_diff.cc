#include "lib/layout_diff.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace khoabi {
namespace {

bool IsReservedName(absl::string_view name) {
  for (absl::string_view prefix : {"padding", "pad", "reserved", "rsvd", "unused"}) {
    if (absl::StartsWith(name, prefix)) return true;
  }
  return false;
}

const FieldLayout* FindField(const RecordLayout& r, absl::string_view name) {
  for (const FieldLayout& f : r.fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string Span(uint64_t offset, uint64_t size) {
  return absl::StrFormat("@%u, %u bytes", offset, size);
}

void Worsen(Compat* c, Compat to) {
  if (static_cast<int>(to) > static_cast<int>(*c)) *c = to;
}

// Abis listed by a manifest, plus any `abi` string its records use that the
// list lacks (a bare array of records has no list).
std::vector<AbiVersion> AbisOf(const LayoutManifest& m) {
  std::vector<AbiVersion> out = m.abis;
  for (const RecordLayout& r : m.records) {
    bool known =
        std::any_of(out.begin(), out.end(), [&](const AbiVersion& a) { return a.id == r.abi; });
    if (!known) out.push_back(AbiVersion{r.abi, "", "", "", 0});
  }
  return out;
}

}  // namespace

absl::string_view CompatName(Compat c) {
  switch (c) {
    case Compat::kIdentical:
      return "identical";
    case Compat::kCompatible:
      return "compatible";
    case Compat::kBreaking:
      return "breaking";
  }
  return "?";
}

absl::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kIdentical:
      return "identical";
    case Verdict::kCompatible:
      return "compatible";
    case Verdict::kBreakingNewVersion:
      return "breaking-with-version-bump";
    case Verdict::kBreakingSameVersion:
      return "breaking-without-version-bump";
  }
  return "?";
}

RecordDiff DiffRecord(const RecordLayout& old_r, const RecordLayout& new_r) {
  RecordDiff d;
  d.struct_name = old_r.upstream_struct;
  if (old_r.size != new_r.size) {
    d.changes.push_back(
        absl::StrFormat("size changed from %u to %u bytes", old_r.size, new_r.size));
    Worsen(&d.compat, Compat::kBreaking);
  }
  if (old_r.per_page != new_r.per_page) {
    d.changes.push_back(
        absl::StrFormat("objects per page changed from %u to %u", old_r.per_page, new_r.per_page));
    Worsen(&d.compat, Compat::kBreaking);
  }

  std::set<std::string> matched_new;
  // Bytes the old record reserved, as [begin, end) ranges.
  std::vector<std::pair<uint64_t, uint64_t>> reserved;
  for (const FieldLayout& f : old_r.fields) {
    if (IsReservedName(f.name)) reserved.emplace_back(f.offset, f.offset + f.size);
  }

  for (const FieldLayout& of : old_r.fields) {
    const FieldLayout* nf = FindField(new_r, of.name);
    if (nf != nullptr) {
      matched_new.insert(nf->name);
      if (nf->offset == of.offset && nf->size == of.size) continue;
      if (IsReservedName(of.name) && nf->offset >= of.offset &&
          nf->offset + nf->size <= of.offset + of.size) {
        d.changes.push_back(absl::StrCat("reserved field '", of.name, "' shrank from ",
                                         Span(of.offset, of.size), " to ",
                                         Span(nf->offset, nf->size)));
        Worsen(&d.compat, Compat::kCompatible);
        continue;
      }
      std::string what = nf->offset != of.offset ? "moved" : "resized";
      if (nf->offset != of.offset && nf->size != of.size) what = "moved and resized";
      d.changes.push_back(absl::StrCat("field '", of.name, "' ", what, ": ",
                                       Span(of.offset, of.size), " -> ",
                                       Span(nf->offset, nf->size)));
      Worsen(&d.compat, Compat::kBreaking);
      continue;
    }
    if (IsReservedName(of.name)) {
      // Its bytes may now hold new fields; checked below from the new side.
      d.changes.push_back(
          absl::StrCat("reserved field '", of.name, "' (", Span(of.offset, of.size), ") is gone"));
      Worsen(&d.compat, Compat::kCompatible);
      continue;
    }
    // A field with another name at the very same bytes is a rename.
    const FieldLayout* renamed = nullptr;
    for (const FieldLayout& f : new_r.fields) {
      if (f.offset == of.offset && f.size == of.size && FindField(old_r, f.name) == nullptr &&
          matched_new.count(f.name) == 0) {
        renamed = &f;
        break;
      }
    }
    if (renamed != nullptr) {
      matched_new.insert(renamed->name);
      d.changes.push_back(absl::StrCat("field '", of.name, "' renamed to '", renamed->name,
                                       "' (same bytes, ", Span(of.offset, of.size), ")"));
      Worsen(&d.compat, Compat::kCompatible);
      continue;
    }
    d.changes.push_back(
        absl::StrCat("field '", of.name, "' (", Span(of.offset, of.size), ") removed"));
    Worsen(&d.compat, Compat::kBreaking);
  }

  for (const FieldLayout& nf : new_r.fields) {
    if (matched_new.count(nf.name) != 0) continue;
    uint64_t begin = nf.offset, end = nf.offset + nf.size;
    // Covered by the union of reserved ranges?
    uint64_t pos = begin;
    bool progressed = true;
    while (pos < end && progressed) {
      progressed = false;
      for (const auto& [rb, re] : reserved) {
        if (rb <= pos && pos < re) {
          pos = re;
          progressed = true;
        }
      }
    }
    if (pos >= end) {
      d.changes.push_back(absl::StrCat("new field '", nf.name, "' (", Span(nf.offset, nf.size),
                                       ") in previously reserved bytes"));
      Worsen(&d.compat, Compat::kCompatible);
    } else {
      d.changes.push_back(
          absl::StrCat("new field '", nf.name, "' (", Span(nf.offset, nf.size),
                       ") overlaps bytes that had a meaning or lay beyond the record"));
      Worsen(&d.compat, Compat::kBreaking);
    }
  }
  return d;
}

AbiDiff DiffAbi(const LayoutManifest& old_m, const AbiVersion& old_abi, const LayoutManifest& new_m,
                const AbiVersion& new_abi) {
  AbiDiff d;
  d.old_abi = old_abi;
  d.new_abi = new_abi;
  d.compatible_changed = old_abi.compatible != new_abi.compatible;
  d.version_changed = old_abi.version != new_abi.version;

  std::vector<const RecordLayout*> olds = old_m.RecordsOf(old_abi.id);
  std::vector<const RecordLayout*> news = new_m.RecordsOf(new_abi.id);
  Compat worst = Compat::kIdentical;
  for (const RecordLayout* o : olds) {
    auto it = std::find_if(news.begin(), news.end(), [&](const RecordLayout* n) {
      return n->upstream_struct == o->upstream_struct;
    });
    if (it == news.end()) {
      RecordDiff r{o->upstream_struct, Compat::kBreaking, {"record removed"}};
      d.records.push_back(r);
      worst = Compat::kBreaking;
      continue;
    }
    RecordDiff r = DiffRecord(*o, **it);
    Worsen(&worst, r.compat);
    d.records.push_back(std::move(r));
  }
  for (const RecordLayout* n : news) {
    bool in_old = std::any_of(olds.begin(), olds.end(), [&](const RecordLayout* o) {
      return o->upstream_struct == n->upstream_struct;
    });
    if (in_old) continue;
    d.records.push_back(RecordDiff{n->upstream_struct, Compat::kCompatible, {"record added"}});
    Worsen(&worst, Compat::kCompatible);
  }

  if (worst == Compat::kBreaking) {
    d.verdict = (d.compatible_changed || d.version_changed) ? Verdict::kBreakingNewVersion
                                                            : Verdict::kBreakingSameVersion;
  } else if (worst == Compat::kCompatible || d.compatible_changed || d.version_changed) {
    d.verdict = Verdict::kCompatible;
  } else {
    d.verdict = Verdict::kIdentical;
  }
  return d;
}

std::vector<AbiDiff> DiffManifests(const LayoutManifest& old_m, const LayoutManifest& new_m) {
  std::vector<AbiDiff> out;
  std::vector<AbiVersion> old_abis = AbisOf(old_m), new_abis = AbisOf(new_m);
  for (const AbiVersion& o : old_abis) {
    auto it = std::find_if(new_abis.begin(), new_abis.end(),
                           [&](const AbiVersion& n) { return n.id == o.id; });
    // An ABI missing from the new side is diffed against nothing: every record removed.
    out.push_back(DiffAbi(old_m, o, new_m, it != new_abis.end() ? *it : o));
  }
  for (const AbiVersion& n : new_abis) {
    bool in_old = std::any_of(old_abis.begin(), old_abis.end(),
                              [&](const AbiVersion& o) { return o.id == n.id; });
    if (!in_old)
      out.push_back(DiffAbi(old_m, AbiVersion{n.id + " (absent)", "", "", "", 0}, new_m, n));
  }
  return out;
}

std::string FormatAbiDiff(const AbiDiff& d) {
  std::string out =
      absl::StrCat(d.old_abi.id, " -> ", d.new_abi.id, ": ", VerdictName(d.verdict), "\n");
  if (d.compatible_changed) {
    absl::StrAppend(&out, "  compatible: \"", d.old_abi.compatible, "\" -> \"",
                    d.new_abi.compatible, "\"\n");
  } else if (!d.old_abi.compatible.empty()) {
    absl::StrAppend(&out, "  compatible: \"", d.old_abi.compatible, "\" (unchanged)\n");
  }
  if (d.version_changed) {
    absl::StrAppend(&out, "  version: ", d.old_abi.version, " -> ", d.new_abi.version, "\n");
  } else if (d.old_abi.version != 0) {
    absl::StrAppend(&out, "  version: ", d.old_abi.version, " (unchanged)\n");
  }
  for (const RecordDiff& r : d.records) {
    if (r.compat == Compat::kIdentical) continue;
    absl::StrAppend(&out, "  struct ", r.struct_name, ": ", CompatName(r.compat), "\n");
    for (const std::string& c : r.changes) absl::StrAppend(&out, "    - ", c, "\n");
  }
  if (d.verdict == Verdict::kBreakingSameVersion) {
    absl::StrAppend(&out,
                    "  error: the serialized layout changed under the same compatible string and "
                    "version.\n  Any change to a serialized struct needs a new ABI version "
                    "(a new compatible string or version).\n");
  }
  return out;
}

}  // namespace khoabi
