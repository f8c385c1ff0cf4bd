#include "lib/iommu.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "lib/decode_scratch.h"
#include "lib/list_walk.h"
#include "lib/pasid.h"

namespace khoabi {
namespace {

constexpr uint64_t kArrayHeader = sizeof(iommu_array_hdr_ser);

// --- records <-> model ---------------------------------------------------------

void PutHeader(const IommuHeader& h, iommu_hdr_ser* out) {
  out->ref_count = h.ref_count;
  out->flags = h.flags;
}

IommuHeader GetHeader(const iommu_hdr_ser& h) { return IommuHeader{h.ref_count, h.flags}; }

void SerializeUnit(const IommuUnit& u, uint8_t* out) {
  // A and B share the 112-byte layout: header, token, type, 88-byte arm.
  iommu_hw_ser_b r;
  std::memset(&r, 0, sizeof r);
  PutHeader(u.hdr, &r.hdr);
  r.token = u.token;
  r.type = u.type;
  std::memcpy(reinterpret_cast<uint8_t*>(&r) + KHOABI_OFFSETOF(iommu_hw_ser_b, intel),
              u.arch.data(), u.arch.size());
  std::memcpy(out, &r, sizeof r);
}

IommuUnit ParseUnit(const uint8_t* in) {
  iommu_hw_ser_b r;
  std::memcpy(&r, in, sizeof r);
  IommuUnit u;
  u.hdr = GetHeader(r.hdr);
  u.token = r.token;
  u.type = r.type;
  std::memcpy(u.arch.data(), in + KHOABI_OFFSETOF(iommu_hw_ser_b, intel), u.arch.size());
  return u;
}

void SerializeDomain(IommuAbi abi, const IommuDomain& d, uint8_t* out) {
  if (abi == IommuAbi::kA) {
    iommu_domain_ser_a r;
    PutHeader(d.hdr, &r.hdr);
    r.top_table_phys = d.top_table_phys;
    r.top_level = d.top_level;
    r.vasz = d.vasz;
    r.sign_extend = d.sign_extend;
    r.restored_domain = d.restored_domain;
    std::memcpy(out, &r, sizeof r);
    return;
  }
  iommu_domain_ser_b r;
  PutHeader(d.hdr, &r.hdr);
  r.top_table_phys = d.top_table_phys;
  r.top_level = d.top_level;
  r.vasz = d.vasz;
  r.sign_extend = d.sign_extend;
  std::memcpy(r.padding, d.padding.data(), sizeof r.padding);
  r.restored_domain = d.restored_domain;
  std::memcpy(out, &r, sizeof r);
}

IommuDomain ParseDomain(IommuAbi abi, const uint8_t* in) {
  IommuDomain d;
  if (abi == IommuAbi::kA) {
    iommu_domain_ser_a r;
    std::memcpy(&r, in, sizeof r);
    d.hdr = GetHeader(r.hdr);
    d.top_table_phys = r.top_table_phys;
    d.top_level = r.top_level;
    d.vasz = r.vasz;
    d.sign_extend = r.sign_extend;
    d.restored_domain = r.restored_domain;
    return d;
  }
  iommu_domain_ser_b r;
  std::memcpy(&r, in, sizeof r);
  d.hdr = GetHeader(r.hdr);
  d.top_table_phys = r.top_table_phys;
  d.top_level = r.top_level;
  d.vasz = r.vasz;
  d.sign_extend = r.sign_extend;
  std::memcpy(d.padding.data(), r.padding, sizeof r.padding);
  d.restored_domain = r.restored_domain;
  return d;
}

void SerializeDevice(IommuAbi abi, const IommuDevice& d, uint8_t* out) {
  if (abi == IommuAbi::kA) {
    iommu_device_ser_a r;
    PutHeader(d.hdr, &r.hdr);
    r.devid = d.devid;
    r.pci_domain_nr = d.pci_domain_nr;
    r.domain_iommu_ser = {d.attachment_id, d.domain_phys, d.iommu_phys};
    std::memcpy(&r.intel, d.arch.data(), sizeof r.intel);
    std::memcpy(out, &r, sizeof r);
    return;
  }
  iommu_device_ser_b r;
  PutHeader(d.hdr, &r.hdr);
  r.devid = d.devid;
  r.pci_domain_nr = d.pci_domain_nr;
  r.dma_owner_token = d.dma_owner_token;
  r.domain_iommu_ser = {d.attachment_id, d.domain_phys, d.iommu_phys};
  std::memcpy(&r.intel, d.arch.data(), sizeof r.intel);
  std::memcpy(out, &r, sizeof r);
}

IommuDevice ParseDevice(IommuAbi abi, const uint8_t* in) {
  IommuDevice d;
  if (abi == IommuAbi::kA) {
    iommu_device_ser_a r;
    std::memcpy(&r, in, sizeof r);
    d.hdr = GetHeader(r.hdr);
    d.devid = r.devid;
    d.pci_domain_nr = r.pci_domain_nr;
    d.attachment_id = r.domain_iommu_ser.attachment_id;
    d.domain_phys = r.domain_iommu_ser.domain_phys;
    d.iommu_phys = r.domain_iommu_ser.iommu_phys;
    std::memcpy(d.arch.data(), &r.intel, sizeof r.intel);
    return d;
  }
  iommu_device_ser_b r;
  std::memcpy(&r, in, sizeof r);
  d.hdr = GetHeader(r.hdr);
  d.devid = r.devid;
  d.pci_domain_nr = r.pci_domain_nr;
  d.dma_owner_token = r.dma_owner_token;
  d.attachment_id = r.domain_iommu_ser.attachment_id;
  d.domain_phys = r.domain_iommu_ser.domain_phys;
  d.iommu_phys = r.domain_iommu_ser.iommu_phys;
  std::memcpy(d.arch.data(), &r.intel, sizeof r.intel);
  return d;
}

bool AllZero(const uint8_t* p, size_t n) { return FirstNonZero(absl::MakeConstSpan(p, n)) == n; }

// --- encoding ------------------------------------------------------------------

template <typename Obj, typename Write>
absl::Status EncodeList(const std::vector<IommuArrayPage>& pages, const std::vector<Obj>& objects,
                        uint32_t size, uint32_t capacity, const char* what, Write write,
                        ImageBuilder& builder) {
  size_t next_object = 0;
  for (size_t k = 0; k < pages.size(); ++k) {
    if (pages[k].nr_objects > capacity || pages[k].nr_objects > objects.size() - next_object) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s page %u at %#x: %u objects (capacity %u, %u left)", what, k, pages[k].pa,
          pages[k].nr_objects, capacity, objects.size() - next_object));
    }
    std::vector<uint8_t> page(kPageSize, 0);
    iommu_array_hdr_ser hdr{k + 1 < pages.size() ? pages[k + 1].pa : 0, pages[k].nr_objects};
    std::memcpy(page.data(), &hdr, sizeof hdr);
    for (uint64_t s = 0; s < pages[k].nr_objects; ++s) {
      write(objects[next_object++], page.data() + kArrayHeader + s * size);
    }
    if (absl::Status st = builder.Put(pages[k].pa, std::move(page)); !st.ok()) return st;
  }
  if (next_object != objects.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%u %s objects but the pages hold %u", objects.size(), what, next_object));
  }
  return absl::OkStatus();
}

uint64_t ListHead(const std::vector<IommuArrayPage>& pages) {
  return pages.empty() ? 0 : pages.front().pa;
}

// --- decoding ------------------------------------------------------------------

// An array page, for resolving references.
using PageRef = DecodeScratch::ArrayPageRef;

const char* KindName(IommuObjectKind k) {
  return k == IommuObjectKind::kUnit ? "unit" : k == IommuObjectKind::kDomain ? "domain" : "device";
}

class IommuDecoder {
 public:
  IommuDecoder(IommuAbi abi, DecodeContext& ctx, DecodeScratch& scratch, IommuModel* out,
               std::vector<BlobFolio>* blobs)
      : abi_(abi),
        layout_(LayoutOf(abi)),
        ctx_(ctx),
        scratch_(scratch),
        m_(*out),
        blobs_(*blobs),
        page_refs_(scratch.array_pages),
        object_pas_(scratch.object_pas) {
    page_refs_.clear();
    for (std::vector<uint64_t>& pas : scratch.object_pas) pas.clear();
  }

  bool Run(const FlbEntry& entry);

 private:
  bool ReadFlbSer(uint64_t pa, uint64_t heads[3]);
  template <typename Parse>
  bool WalkList(const char* name, IommuObjectKind kind, uint64_t head, uint32_t size,
                uint32_t capacity, std::vector<IommuArrayPage>* pages, Parse parse);
  bool CheckFlags(const IommuHeader& h, uint64_t pa);
  bool CheckUnit(size_t i);
  bool CheckDomain(size_t i);
  bool CheckDevice(size_t i);
  int32_t Resolve(uint64_t pa, IommuObjectKind want, const char* field);
  bool ClaimBlob(uint64_t pa, const char* field);
  bool CheckDuplicates();

  IommuAbi abi_;
  const IommuAbiLayout& layout_;
  DecodeContext& ctx_;
  DecodeScratch& scratch_;
  IommuModel& m_;
  std::vector<BlobFolio>& blobs_;
  uint64_t ObjectPa(IommuObjectKind kind, size_t i) const {
    return object_pas_[static_cast<size_t>(kind)][i];
  }

  std::vector<PageRef>& page_refs_;         // sorted by pa after the walk
  std::vector<uint64_t> (&object_pas_)[3];  // PA of every object, per kind
  bool ok_ = true;
};

bool IommuDecoder::ReadFlbSer(uint64_t pa, uint64_t heads[3]) {
  Path::Scope s = ctx_.path.Enter("flb_ser");
  if (!ctx_.memory.Claim(pa, 0, ctx_.path, ctx_.diag)) return false;
  absl::Span<const uint8_t> page = ctx_.reader.Bytes(pa, kPageSize);
  size_t used;
  if (abi_ == IommuAbi::kA) {
    iommu_flb_ser_a r;
    std::memcpy(&r, page.data(), sizeof r);
    heads[0] = r.iommu_array_phys;
    heads[1] = r.iommu_domain_array_phys;
    heads[2] = r.device_array_phys;
    used = sizeof r;
  } else {
    iommu_flb_ser_b r;
    std::memcpy(&r, page.data(), sizeof r);
    m_.version = r.version;
    heads[0] = r.iommu_array_phys;
    heads[1] = r.iommu_domain_array_phys;
    heads[2] = r.device_array_phys;
    used = sizeof r;
    if (r.version != IOMMU_B_FLB_VERSION) {
      Path::Scope v = ctx_.path.Enter("version");
      ctx_.Report(Reason::kIommuBadVersion, pa, "version %llu, want %u",
                  static_cast<unsigned long long>(r.version), IOMMU_B_FLB_VERSION);
      return false;
    }
    static const char* const kHeads[] = {"iommu_array_phys", "iommu_domain_array_phys",
                                         "device_array_phys"};
    for (int i = 0; i < 3; ++i) {
      if (heads[i] != 0) continue;
      Path::Scope h = ctx_.path.Enter(kHeads[i]);
      ok_ = !ctx_.Report(Reason::kIommuArrayPaZero, pa, "ABI B's kernel panics on an empty list") &&
            ok_;
    }
  }
  if (const size_t at = used + FirstNonZero(page.subspan(used)); at < kPageSize) {
    Path::Scope u = ctx_.path.Enter("unused");
    ok_ = !ctx_.Report(Reason::kUnusedBytesNotZero, pa + at, "byte %zu after iommu_flb_ser is %#x",
                       at, page[at]) &&
          ok_;
  }
  return true;
}

template <typename Parse>
bool IommuDecoder::WalkList(const char* name, IommuObjectKind kind, uint64_t head, uint32_t size,
                            uint32_t capacity, std::vector<IommuArrayPage>* pages, Parse parse) {
  if (head == 0) return true;
  const uint64_t distinct = NodesBeforeRepeat(
      head,
      [this](uint64_t pa) {
        uint64_t next = 0;
        if ((pa & (kPageSize - 1)) != 0 || !ctx_.reader.ReadU64(pa, &next)) return uint64_t{0};
        return next;
      },
      [this](uint64_t units) { return ctx_.Charge(units); });
  if (ctx_.work.exceeded()) return false;
  uint64_t objects = 0;
  uint64_t pa = head;
  for (uint64_t k = 0; pa != 0; ++k) {
    Path::Scope s = ctx_.path.Enter(name, k);
    if (k == distinct) {
      ctx_.Report(Reason::kIommuChainCycle, pa, "next_array_phys returns to this page");
      return false;
    }
    if (k >= ctx_.options.max_chain_pages) {
      ctx_.Report(Reason::kLimitChainLength, pa, "more than %llu array pages",
                  static_cast<unsigned long long>(ctx_.options.max_chain_pages));
      return false;
    }
    if (!ctx_.memory.Claim(pa, 0, ctx_.path, ctx_.diag)) return false;
    if (!ctx_.Charge(kPageSize / 8)) return false;
    absl::Span<const uint8_t> page = ctx_.reader.Bytes(pa, kPageSize);
    iommu_array_hdr_ser hdr;
    std::memcpy(&hdr, page.data(), sizeof hdr);
    if (hdr.nr_objects > capacity) {
      Path::Scope n = ctx_.path.Enter("nr_objects");
      ctx_.Report(Reason::kIommuTooManyObjects, pa, "%llu objects, a page holds %u",
                  static_cast<unsigned long long>(hdr.nr_objects), capacity);
      return false;
    }
    if (hdr.nr_objects > ctx_.options.max_objects - std::min(objects, ctx_.options.max_objects)) {
      ctx_.Report(Reason::kLimitObjects, pa, "more than %llu %s objects",
                  static_cast<unsigned long long>(ctx_.options.max_objects), KindName(kind));
      return false;
    }
    if (hdr.next_array_phys != 0 && hdr.nr_objects < capacity) {
      Path::Scope n = ctx_.path.Enter("nr_objects");
      ctx_.Report(Reason::kIommuPageNotFull, pa, "%llu of %u objects, yet not the last page",
                  static_cast<unsigned long long>(hdr.nr_objects), capacity);
    }
    page_refs_.push_back({pa, kind, objects, hdr.nr_objects});
    pages->push_back({pa, hdr.nr_objects});
    for (uint64_t i = 0; i < hdr.nr_objects; ++i) {
      parse(page.data() + kArrayHeader + i * size);
      object_pas_[static_cast<size_t>(kind)].push_back(pa + kArrayHeader + i * size);
    }
    objects += hdr.nr_objects;
    const uint64_t used = kArrayHeader + hdr.nr_objects * size;
    if (const uint64_t at = used + FirstNonZero(page.subspan(used)); at < kPageSize) {
      Path::Scope u = ctx_.path.Enter("unused");
      ok_ = !ctx_.Report(Reason::kUnusedBytesNotZero, pa + at,
                         "byte %llu after the last object is %#x",
                         static_cast<unsigned long long>(at), page[at]) &&
            ok_;
    }
    if (ctx_.stop()) return false;
    pa = hdr.next_array_phys;
  }
  return true;
}

bool IommuDecoder::CheckFlags(const IommuHeader& h, uint64_t pa) {
  bool ok = true;
  if (h.flags & ~IOMMU_SER_FLAGS_KNOWN) {
    Path::Scope f = ctx_.path.Enter("flags");
    ok = !ctx_.Report(Reason::kIommuUnknownFlags, pa, "flags %#x", h.flags) && ok;
  }
  if (h.flags & IOMMU_SER_FLAG_INCOMING) {
    Path::Scope f = ctx_.path.Enter("flags");
    ok = !ctx_.Report(Reason::kIommuIncomingFlag, pa, "INCOMING is set") && ok;
  }
  return ok;
}

int32_t IommuDecoder::Resolve(uint64_t pa, IommuObjectKind want, const char* field) {
  Path::Scope s = ctx_.path.Enter(field);
  auto it = std::upper_bound(page_refs_.begin(), page_refs_.end(), pa,
                             [](uint64_t p, const PageRef& r) { return p < r.pa; });
  if (pa == 0 || it == page_refs_.begin() || pa - std::prev(it)->pa >= kPageSize) {
    ok_ = !ctx_.Report(Reason::kIommuRefDangling, pa, "not in any %s array page", KindName(want)) &&
          ok_;
    return kNoObject;
  }
  const PageRef& page = *std::prev(it);
  if (page.kind != want) {
    ok_ = !ctx_.Report(Reason::kIommuRefWrongType, pa, "points into a %s array page, want %s",
                       KindName(page.kind), KindName(want)) &&
          ok_;
    return kNoObject;
  }
  const uint64_t size = want == IommuObjectKind::kUnit ? layout_.unit_size : layout_.domain_size;
  const uint64_t offset = pa - page.pa;
  if (offset < kArrayHeader || (offset - kArrayHeader) % size != 0) {
    ok_ = !ctx_.Report(Reason::kIommuRefMisaligned, pa, "offset %llu is not an object boundary",
                       static_cast<unsigned long long>(offset)) &&
          ok_;
    return kNoObject;
  }
  const uint64_t slot = (offset - kArrayHeader) / size;
  if (slot >= page.count) {
    ok_ = !ctx_.Report(Reason::kIommuRefPastEnd, pa, "slot %llu, the page holds %llu",
                       static_cast<unsigned long long>(slot),
                       static_cast<unsigned long long>(page.count)) &&
          ok_;
    return kNoObject;
  }
  const uint64_t index = page.first + slot;
  const bool deleted = want == IommuObjectKind::kUnit ? m_.units[index].hdr.deleted()
                                                      : m_.domains[index].hdr.deleted();
  if (deleted) {
    ok_ = !ctx_.Report(Reason::kIommuRefDeleted, pa, "the %s is flagged DELETED", KindName(want)) &&
          ok_;
    return kNoObject;
  }
  return static_cast<int32_t>(index);
}

bool IommuDecoder::CheckUnit(size_t i) {
  IommuUnit& u = m_.units[i];
  const uint64_t pa = ObjectPa(IommuObjectKind::kUnit, i);
  Path::Scope s = ctx_.path.Enter("units", i);
  bool ok = CheckFlags(u.hdr, pa);
  if (u.hdr.deleted()) return ok;
  const bool known = u.type == IOMMU_SER_TYPE_INTEL ||
                     (abi_ == IommuAbi::kB && u.type == IOMMU_SER_TYPE_ARM_SMMUV3);
  if (!known) {
    Path::Scope t = ctx_.path.Enter("type");
    ok = !ctx_.Report(Reason::kIommuUnknownType, pa, "type %llu in ABI %.*s",
                      static_cast<unsigned long long>(u.type),
                      static_cast<int>(IommuAbiName(abi_).size()), IommuAbiName(abi_).data()) &&
         ok;
    return ok;
  }
  if (u.type == IOMMU_SER_TYPE_ARM_SMMUV3) {
    if (!AllZero(u.arch.data() + sizeof(iommu_smmuv3_hw_ser),
                 u.arch.size() - sizeof(iommu_smmuv3_hw_ser))) {
      Path::Scope a = ctx_.path.Enter("smmuv3");
      ok = !ctx_.Report(Reason::kIommuArmMismatch, pa,
                        "bytes of the union past the SMMUv3 arm are set") &&
           ok;
    }
    return ok;
  }
  const iommu_intel_ser intel = u.intel();
  Path::Scope a = ctx_.path.Enter("intel");
  if (intel.restored != 0) {
    Path::Scope f = ctx_.path.Enter("restored");
    ok = !ctx_.Report(Reason::kIommuRestoredFieldSet, pa, "restored = %u", intel.restored) && ok;
  }
  if (!AllZero(intel.padding, sizeof intel.padding)) {
    Path::Scope f = ctx_.path.Enter("padding");
    ok = !ctx_.Report(Reason::kIommuReservedNotZero, pa, "padding not zero") && ok;
  }
  if (u.token != intel.phys_addr) {
    ctx_.Report(Reason::kIommuTokenMismatch, pa, "token %#llx, phys_addr %#llx",
                static_cast<unsigned long long>(u.token),
                static_cast<unsigned long long>(intel.phys_addr));
  }
  if (ctx_.reader.Contains(intel.phys_addr, 1)) {
    Path::Scope f = ctx_.path.Enter("phys_addr");
    ctx_.Report(Reason::kIommuMmioInImage, intel.phys_addr, "register base inside the image");
  }
  if (!AllZero(reinterpret_cast<const uint8_t*>(intel.context_tables_bitmap),
               sizeof intel.context_tables_bitmap)) {
    Path::Scope f = ctx_.path.Enter("context_tables_bitmap");
    ctx_.Report(Reason::kIommuContextBitmapSet, pa, "context tables are not decoded yet");
  }
  return ok;
}

bool IommuDecoder::CheckDomain(size_t i) {
  const IommuDomain& d = m_.domains[i];
  const uint64_t pa = ObjectPa(IommuObjectKind::kDomain, i);
  Path::Scope s = ctx_.path.Enter("domains", i);
  bool ok = CheckFlags(d.hdr, pa);
  // Domains keep their one reference, also when deleted.
  if (d.hdr.ref_count != 1) {
    ctx_.Report(Reason::kIommuRefCountMismatch, pa, "domain ref_count %u, expected 1",
                d.hdr.ref_count);
  }
  if (d.hdr.deleted()) return ok;
  if (d.restored_domain != 0) {
    Path::Scope f = ctx_.path.Enter("restored_domain");
    ok = !ctx_.Report(Reason::kIommuRestoredFieldSet, pa,
                      "restored_domain %#llx would be used as a kernel pointer",
                      static_cast<unsigned long long>(d.restored_domain)) &&
         ok;
  }
  const bool bad_sign =
      abi_ == IommuAbi::kA ? (d.sign_extend & ~IOMMU_A_DOMAIN_SIGN_EXTEND) != 0 : d.sign_extend > 1;
  if (bad_sign) {
    Path::Scope f = ctx_.path.Enter("sign_extend");
    ok = !ctx_.Report(Reason::kIommuReservedNotZero, pa, "sign_extend byte %#x", d.sign_extend) &&
         ok;
  }
  if (abi_ == IommuAbi::kB && !AllZero(d.padding.data(), d.padding.size())) {
    Path::Scope f = ctx_.path.Enter("padding");
    ok = !ctx_.Report(Reason::kIommuReservedNotZero, pa, "padding not zero") && ok;
  }
  return ok;
}

bool IommuDecoder::CheckDevice(size_t i) {
  IommuDevice& d = m_.devices[i];
  const uint64_t pa = ObjectPa(IommuObjectKind::kDevice, i);
  Path::Scope s = ctx_.path.Enter("devices", i);
  bool ok = CheckFlags(d.hdr, pa);
  if (d.hdr.deleted()) return ok;
  if (d.hdr.ref_count != 1) {
    ctx_.Report(Reason::kIommuRefCountMismatch, pa, "device ref_count %u, expected 1",
                d.hdr.ref_count);
  }
  d.domain = Resolve(d.domain_phys, IommuObjectKind::kDomain, "domain_phys");
  d.unit = Resolve(d.iommu_phys, IommuObjectKind::kUnit, "iommu_phys");
  if (d.devid > 0xffff || d.attachment_id > 0xffff) {
    ctx_.Report(Reason::kIommuIdTooWide, pa, "devid %#x, attachment_id %#llx", d.devid,
                static_cast<unsigned long long>(d.attachment_id));
  }
  return ok;
}

bool IommuDecoder::ClaimBlob(uint64_t pa, const char* field) {
  Path::Scope f = ctx_.path.Enter(field);
  if (!ctx_.memory.Claim(pa, 0, ctx_.path, ctx_.diag)) return false;
  absl::Span<const uint8_t> page = ctx_.reader.Bytes(pa, kPageSize);
  blobs_.push_back({pa, 0, scratch_.blob_bytes.Take()});
  blobs_.back().bytes.assign(page.begin(), page.end());
  return ctx_.Charge(kPageSize / 8);
}

bool IommuDecoder::CheckDuplicates() {
  bool ok = true;
  // Live units by (type, token), live devices by (segment, devid).
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, size_t>>& keys = scratch_.duplicate_keys;
  keys.clear();
  for (size_t i = 0; i < m_.units.size(); ++i) {
    if (!m_.units[i].hdr.deleted()) keys.push_back({{m_.units[i].type, m_.units[i].token}, i});
  }
  std::sort(keys.begin(), keys.end());
  for (size_t k = 1; k < keys.size(); ++k) {
    if (keys[k].first != keys[k - 1].first) continue;
    Path::Scope s = ctx_.path.Enter("units", keys[k].second);
    ok = !ctx_.Report(Reason::kIommuDuplicateUnit, ObjectPa(IommuObjectKind::kUnit, keys[k].second),
                      "same type and token as units[%zu]", keys[k - 1].second) &&
         ok;
  }
  keys.clear();
  for (size_t i = 0; i < m_.devices.size(); ++i) {
    const IommuDevice& d = m_.devices[i];
    if (!d.hdr.deleted()) keys.push_back({{d.pci_domain_nr, d.devid}, i});
  }
  std::sort(keys.begin(), keys.end());
  for (size_t k = 1; k < keys.size(); ++k) {
    if (keys[k].first != keys[k - 1].first) continue;
    Path::Scope s = ctx_.path.Enter("devices", keys[k].second);
    ok = !ctx_.Report(Reason::kIommuDuplicateDevice,
                      ObjectPa(IommuObjectKind::kDevice, keys[k].second),
                      "same segment and devid as devices[%zu]", keys[k - 1].second) &&
         ok;
  }
  return ok;
}

bool IommuDecoder::Run(const FlbEntry& entry) {
  m_.abi = abi_;
  m_.flb_ser_pa = entry.data;
  m_.flb_count = entry.count;
  m_.version = abi_ == IommuAbi::kB ? IOMMU_B_FLB_VERSION : 0;
  uint64_t heads[3] = {0, 0, 0};
  if (!ReadFlbSer(entry.data, heads)) return false;
  if (ctx_.stop()) return false;

  // The array lists, claiming every page.
  const PasidPolicy policy = EffectivePolicy(abi_, ctx_.options.pasid_policy);
  bool lists_ok =
      WalkList("unit_pages", IommuObjectKind::kUnit, heads[0], layout_.unit_size,
               layout_.units_per_page, &m_.unit_pages,
               [this](const uint8_t* p) { m_.units.push_back(ParseUnit(p)); }) &&
      WalkList("domain_pages", IommuObjectKind::kDomain, heads[1], layout_.domain_size,
               layout_.domains_per_page, &m_.domain_pages,
               [this](const uint8_t* p) { m_.domains.push_back(ParseDomain(abi_, p)); }) &&
      WalkList("device_pages", IommuObjectKind::kDevice, heads[2], layout_.device_size,
               layout_.devices_per_page, &m_.device_pages,
               [this](const uint8_t* p) { m_.devices.push_back(ParseDevice(abi_, p)); });
  if (!lists_ok || ctx_.stop()) return false;
  std::sort(page_refs_.begin(), page_refs_.end(),
            [](const PageRef& a, const PageRef& b) { return a.pa < b.pa; });

  // Records, then references.
  for (size_t i = 0; i < m_.units.size(); ++i) ok_ = CheckUnit(i) && ok_;
  for (size_t i = 0; i < m_.domains.size(); ++i) ok_ = CheckDomain(i) && ok_;
  size_t live_devices = 0;
  for (size_t i = 0; i < m_.devices.size(); ++i) {
    ok_ = CheckDevice(i) && ok_;
    if (!m_.devices[i].hdr.deleted()) ++live_devices;
    if (ctx_.stop()) return false;
  }
  if (live_devices > ctx_.options.max_devices) {
    ctx_.Report(Reason::kLimitObjects, kNoPa, "%zu live devices > %llu", live_devices,
                static_cast<unsigned long long>(ctx_.options.max_devices));
    return false;
  }
  ok_ = CheckDuplicates() && ok_;

  // ref_count: a unit holds one reference plus one per live device.
  std::vector<uint32_t>& unit_users = scratch_.unit_users;
  unit_users.assign(m_.units.size(), 0);
  for (const IommuDevice& d : m_.devices) {
    if (!d.hdr.deleted() && d.unit != kNoObject) ++unit_users[static_cast<size_t>(d.unit)];
  }
  for (size_t i = 0; i < m_.units.size(); ++i) {
    const IommuUnit& u = m_.units[i];
    if (u.hdr.deleted() || u.hdr.ref_count == 1 + unit_users[i]) continue;
    Path::Scope s = ctx_.path.Enter("units", i);
    ctx_.Report(Reason::kIommuRefCountMismatch, ObjectPa(IommuObjectKind::kUnit, i),
                "ref_count %u, expected 1 + %u devices", u.hdr.ref_count, unit_users[i]);
  }
  if (ctx_.stop()) return false;

  // Per-object claims, in index order: root tables, top tables, PASID.
  for (size_t i = 0; i < m_.units.size(); ++i) {
    const IommuUnit& u = m_.units[i];
    if (u.hdr.deleted() || u.type != IOMMU_SER_TYPE_INTEL) continue;
    Path::Scope s = ctx_.path.Enter("units", i);
    Path::Scope a = ctx_.path.Enter("intel");
    ok_ = ClaimBlob(u.intel().root_table, "root_table") && ok_;
    if (ctx_.stop()) return false;
  }
  for (size_t i = 0; i < m_.domains.size(); ++i) {
    const IommuDomain& d = m_.domains[i];
    if (d.hdr.deleted() || d.top_table_phys == 0) continue;
    Path::Scope s = ctx_.path.Enter("domains", i);
    ok_ = ClaimBlob(d.top_table_phys, "top_table_phys") && ok_;
    if (ctx_.stop()) return false;
  }
  uint64_t tables_seen = 0;
  for (size_t i = 0; i < m_.devices.size(); ++i) {
    IommuDevice& d = m_.devices[i];
    if (d.hdr.deleted() || d.unit == kNoObject) continue;
    Path::Scope s = ctx_.path.Enter("devices", i);
    const IommuUnit& unit = m_.units[static_cast<size_t>(d.unit)];
    const uint64_t pa = ObjectPa(IommuObjectKind::kDevice, i);
    if (unit.type == IOMMU_SER_TYPE_ARM_SMMUV3) {
      if (d.smmuv3().padding != 0) {
        Path::Scope f = ctx_.path.Enter("smmuv3");
        ok_ = !ctx_.Report(Reason::kIommuReservedNotZero, pa, "padding not zero") && ok_;
      }
      continue;
    }
    if (unit.type != IOMMU_SER_TYPE_INTEL) continue;
    Path::Scope a = ctx_.path.Enter("intel");
    if (d.intel_restored(abi_) != 0) {
      Path::Scope f = ctx_.path.Enter("restored");
      ok_ = !ctx_.Report(Reason::kIommuRestoredFieldSet, pa, "restored = %u",
                         d.intel_restored(abi_)) &&
            ok_;
    }
    if (abi_ == IommuAbi::kB && !AllZero(d.arch.data() + 1, 7)) {
      Path::Scope f = ctx_.path.Enter("padding");
      ok_ = !ctx_.Report(Reason::kIommuReservedNotZero, pa, "padding not zero") && ok_;
    }
    PasidAttachment att{m_.DomainOf(d), d.attachment_id, pa};
    ok_ = DecodePasid(d.pasid_table(abi_), d.max_pasid(abi_), policy, att, ctx_, &tables_seen,
                      &d.pasid) &&
          ok_;
    if (ctx_.stop()) return false;
  }
  return ok_;
}

}  // namespace

std::optional<IommuAbi> IommuAbiFromName(absl::string_view name) {
  if (name == IOMMU_A_FLB_COMPATIBLE) return IommuAbi::kA;
  if (name == IOMMU_B_FLB_COMPATIBLE) return IommuAbi::kB;
  return std::nullopt;
}

PasidPolicy EffectivePolicy(IommuAbi abi, PasidPolicy requested) {
  if (requested != PasidPolicy::kAbiDefault) return requested;
  return abi == IommuAbi::kA ? PasidPolicy::kNoPasidOnly : PasidPolicy::kAllPresent;
}

absl::Status EncodeIommu(const IommuModel& m, ImageBuilder& builder) {
  const IommuAbiLayout& l = LayoutOf(m.abi);
  std::vector<uint8_t> flb(kPageSize, 0);
  if (m.abi == IommuAbi::kA) {
    iommu_flb_ser_a r{ListHead(m.unit_pages), ListHead(m.domain_pages), ListHead(m.device_pages)};
    std::memcpy(flb.data(), &r, sizeof r);
  } else {
    iommu_flb_ser_b r{m.version, ListHead(m.unit_pages), ListHead(m.domain_pages),
                      ListHead(m.device_pages)};
    std::memcpy(flb.data(), &r, sizeof r);
  }
  if (absl::Status s = builder.Put(m.flb_ser_pa, std::move(flb)); !s.ok()) return s;
  const IommuAbi abi = m.abi;
  if (absl::Status s = EncodeList(
          m.unit_pages, m.units, l.unit_size, l.units_per_page, "unit",
          [](const IommuUnit& u, uint8_t* out) { SerializeUnit(u, out); }, builder);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = EncodeList(
          m.domain_pages, m.domains, l.domain_size, l.domains_per_page, "domain",
          [abi](const IommuDomain& d, uint8_t* out) { SerializeDomain(abi, d, out); }, builder);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = EncodeList(
          m.device_pages, m.devices, l.device_size, l.devices_per_page, "device",
          [abi](const IommuDevice& d, uint8_t* out) { SerializeDevice(abi, d, out); }, builder);
      !s.ok()) {
    return s;
  }
  // PASID structures of live Intel devices that hand a directory over.
  for (const IommuDevice& d : m.devices) {
    if (d.hdr.deleted() || d.unit == kNoObject || d.pasid_table(abi) == 0) continue;
    if (static_cast<size_t>(d.unit) >= m.units.size() ||
        m.units[static_cast<size_t>(d.unit)].type != IOMMU_SER_TYPE_INTEL) {
      continue;
    }
    if (absl::Status s = EncodePasid(d.pasid, d.pasid_table(abi), d.max_pasid(abi), builder);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

bool DecodeIommu(IommuAbi abi, const FlbEntry& entry, DecodeContext& ctx, IommuModel* out,
                 std::vector<BlobFolio>* blobs) {
  Path::Scope s = ctx.path.Enter("iommu");
  DecodeScratch own;
  DecodeScratch& scratch = ScratchFor(ctx, own);
  // *out = IommuModel{}, keeping the storage: the devices' PASID state goes to
  // the pools, last device first, so that devices taking it again in order
  // get their own back.
  for (auto it = out->devices.rbegin(); it != out->devices.rend(); ++it) {
    scratch.pasid_tables.Give(std::move(it->pasid.tables));
    scratch.pasid_stale.Give(std::move(it->pasid.stale_dir_entries));
  }
  IommuModel fresh;
  fresh.unit_pages.swap(out->unit_pages);
  fresh.domain_pages.swap(out->domain_pages);
  fresh.device_pages.swap(out->device_pages);
  fresh.units.swap(out->units);
  fresh.domains.swap(out->domains);
  fresh.devices.swap(out->devices);
  fresh.unit_pages.clear();
  fresh.domain_pages.clear();
  fresh.device_pages.clear();
  fresh.units.clear();
  fresh.domains.clear();
  fresh.devices.clear();
  *out = std::move(fresh);
  DecodeContext inner = ctx;
  inner.scratch = &scratch;  // for DecodePasid
  IommuDecoder decoder(abi, inner, scratch, out, blobs);
  return decoder.Run(entry);
}

}  // namespace khoabi
