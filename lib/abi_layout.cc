#include "lib/abi_layout.h"

#include <cstddef>
#include <utility>

#include "abi/iommu.h"
#include "abi/kexec_handover.h"
#include "abi/luo.h"
#include "abi/vtd_pasid.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace khoabi {
namespace {

// Field of `Type` as the compiler lays it out.
#define KHOABI_FIELD(Type, member) \
  FieldLayout { #member, offsetof(Type, member), sizeof(static_cast <Type*>(nullptr)->member) }

template <typename Type>
RecordLayout Record(const char* abi, const char* upstream, const char* c_type,
                    std::vector<FieldLayout> fields, uint64_t per_page = 0) {
  return RecordLayout{abi, upstream, c_type, sizeof(Type), per_page, std::move(fields)};
}

constexpr char kKhoV1[] = "kho-v1";
constexpr char kKhoV2[] = "kho-v2";
constexpr char kLuoV1[] = "luo-v1";
constexpr char kIommuA[] = "iommu-liveupdate-v1";
constexpr char kIommuB[] = "iommu-liveupdate.1";
constexpr char kVtd[] = "vtd-pasid";

std::vector<RecordLayout> SharedIommuRecords(const char* abi) {
  return {
      Record<iommu_hdr_ser>(
          abi, "iommu_hdr_ser", "iommu_hdr_ser",
          {KHOABI_FIELD(iommu_hdr_ser, ref_count), KHOABI_FIELD(iommu_hdr_ser, flags)}),
      Record<iommu_array_hdr_ser>(abi, "iommu_array_hdr_ser", "iommu_array_hdr_ser",
                                  {KHOABI_FIELD(iommu_array_hdr_ser, next_array_phys),
                                   KHOABI_FIELD(iommu_array_hdr_ser, nr_objects)}),
      Record<iommu_dev_map_ser>(abi, "iommu_dev_map_ser", "iommu_dev_map_ser",
                                {KHOABI_FIELD(iommu_dev_map_ser, attachment_id),
                                 KHOABI_FIELD(iommu_dev_map_ser, domain_phys),
                                 KHOABI_FIELD(iommu_dev_map_ser, iommu_phys)}),
      Record<iommu_intel_ser>(
          abi, "iommu_intel_ser", "iommu_intel_ser",
          {KHOABI_FIELD(iommu_intel_ser, restored), KHOABI_FIELD(iommu_intel_ser, padding),
           KHOABI_FIELD(iommu_intel_ser, phys_addr), KHOABI_FIELD(iommu_intel_ser, root_table),
           KHOABI_FIELD(iommu_intel_ser, context_tables_bitmap)}),
  };
}

LayoutManifest MakeBuiltin() {
  LayoutManifest m;
  m.abis = {
      {kKhoV1, "", "kho", KHO_V1_FDT_COMPATIBLE, 0},
      {kKhoV2, "", "kho", KHO_V2_FDT_COMPATIBLE, 0},
      {kLuoV1, "", "luo", LUO_FDT_COMPATIBLE, 0},
      {kIommuA, "A", "iommu", IOMMU_A_FLB_COMPATIBLE, 0},
      {kIommuB, "B", "iommu", IOMMU_B_FLB_COMPATIBLE, IOMMU_B_FLB_VERSION},
      {kVtd, "", "vtd", "", 0},
  };
  auto add = [&m](std::vector<RecordLayout> records) {
    for (RecordLayout& r : records) m.records.push_back(std::move(r));
  };

  add({
      Record<khoser_mem_chunk_hdr>(
          kKhoV1, "khoser_mem_chunk_hdr", "khoser_mem_chunk_hdr",
          {KHOABI_FIELD(khoser_mem_chunk_hdr, next), KHOABI_FIELD(khoser_mem_chunk_hdr, order),
           KHOABI_FIELD(khoser_mem_chunk_hdr, num_elms)}),
      Record<khoser_mem_bitmap_ptr>(kKhoV1, "khoser_mem_bitmap_ptr", "khoser_mem_bitmap_ptr",
                                    {KHOABI_FIELD(khoser_mem_bitmap_ptr, phys_start),
                                     KHOABI_FIELD(khoser_mem_bitmap_ptr, bitmap)}),
      Record<khoser_mem_chunk>(
          kKhoV1, "khoser_mem_chunk", "khoser_mem_chunk",
          {KHOABI_FIELD(khoser_mem_chunk, hdr), KHOABI_FIELD(khoser_mem_chunk, bitmaps)}),
      Record<kho_radix_node>(kKhoV2, "kho_radix_node", "kho_radix_node",
                             {KHOABI_FIELD(kho_radix_node, table)}),
      Record<kho_radix_leaf>(kKhoV2, "kho_radix_leaf", "kho_radix_leaf",
                             {KHOABI_FIELD(kho_radix_leaf, bitmap)}),
      Record<luo_flb_header_ser>(
          kLuoV1, "luo_flb_header_ser", "luo_flb_header_ser",
          {KHOABI_FIELD(luo_flb_header_ser, pgcnt), KHOABI_FIELD(luo_flb_header_ser, count)}),
      Record<luo_flb_ser>(kLuoV1, "luo_flb_ser", "luo_flb_ser",
                          {KHOABI_FIELD(luo_flb_ser, name), KHOABI_FIELD(luo_flb_ser, data),
                           KHOABI_FIELD(luo_flb_ser, count)}),
  });

  // ABI A.
  add(SharedIommuRecords(kIommuA));
  add({
      Record<iommu_flb_ser_a>(kIommuA, "iommu_flb_ser", "iommu_flb_ser_a",
                              {KHOABI_FIELD(iommu_flb_ser_a, iommu_array_phys),
                               KHOABI_FIELD(iommu_flb_ser_a, iommu_domain_array_phys),
                               KHOABI_FIELD(iommu_flb_ser_a, device_array_phys)}),
      Record<iommu_domain_ser_a>(
          kIommuA, "iommu_domain_ser", "iommu_domain_ser_a",
          {KHOABI_FIELD(iommu_domain_ser_a, hdr), KHOABI_FIELD(iommu_domain_ser_a, top_table_phys),
           KHOABI_FIELD(iommu_domain_ser_a, top_level), KHOABI_FIELD(iommu_domain_ser_a, vasz),
           KHOABI_FIELD(iommu_domain_ser_a, sign_extend),
           KHOABI_FIELD(iommu_domain_ser_a, restored_domain)},
          IOMMU_A_DOMAINS_PER_PAGE),
      Record<iommu_device_intel_ser_a>(kIommuA, "iommu_device_intel_ser",
                                       "iommu_device_intel_ser_a",
                                       {KHOABI_FIELD(iommu_device_intel_ser_a, pasid_table),
                                        KHOABI_FIELD(iommu_device_intel_ser_a, max_pasid)}),
      Record<iommu_device_ser_a>(
          kIommuA, "iommu_device_ser", "iommu_device_ser_a",
          {KHOABI_FIELD(iommu_device_ser_a, hdr), KHOABI_FIELD(iommu_device_ser_a, devid),
           KHOABI_FIELD(iommu_device_ser_a, pci_domain_nr),
           KHOABI_FIELD(iommu_device_ser_a, domain_iommu_ser),
           KHOABI_FIELD(iommu_device_ser_a, intel)},
          IOMMU_A_DEVICES_PER_PAGE),
      Record<iommu_hw_ser_a>(
          kIommuA, "iommu_hw_ser", "iommu_hw_ser_a",
          {KHOABI_FIELD(iommu_hw_ser_a, hdr), KHOABI_FIELD(iommu_hw_ser_a, token),
           KHOABI_FIELD(iommu_hw_ser_a, type), KHOABI_FIELD(iommu_hw_ser_a, intel)},
          IOMMU_A_HW_PER_PAGE),
  });

  // ABI B.
  add(SharedIommuRecords(kIommuB));
  add({
      Record<iommu_flb_ser_b>(
          kIommuB, "iommu_flb_ser", "iommu_flb_ser_b",
          {KHOABI_FIELD(iommu_flb_ser_b, version), KHOABI_FIELD(iommu_flb_ser_b, iommu_array_phys),
           KHOABI_FIELD(iommu_flb_ser_b, iommu_domain_array_phys),
           KHOABI_FIELD(iommu_flb_ser_b, device_array_phys)}),
      Record<iommu_domain_ser_b>(
          kIommuB, "iommu_domain_ser", "iommu_domain_ser_b",
          {KHOABI_FIELD(iommu_domain_ser_b, hdr), KHOABI_FIELD(iommu_domain_ser_b, top_table_phys),
           KHOABI_FIELD(iommu_domain_ser_b, top_level), KHOABI_FIELD(iommu_domain_ser_b, vasz),
           KHOABI_FIELD(iommu_domain_ser_b, sign_extend), KHOABI_FIELD(iommu_domain_ser_b, padding),
           KHOABI_FIELD(iommu_domain_ser_b, restored_domain)},
          IOMMU_B_DOMAINS_PER_PAGE),
      Record<iommu_device_intel_ser_b>(kIommuB, "iommu_device_intel_ser",
                                       "iommu_device_intel_ser_b",
                                       {KHOABI_FIELD(iommu_device_intel_ser_b, restored),
                                        KHOABI_FIELD(iommu_device_intel_ser_b, padding),
                                        KHOABI_FIELD(iommu_device_intel_ser_b, pasid_table),
                                        KHOABI_FIELD(iommu_device_intel_ser_b, max_pasid)}),
      Record<iommu_master_smmuv3_ser>(
          kIommuB, "iommu_master_smmuv3_ser", "iommu_master_smmuv3_ser",
          {KHOABI_FIELD(iommu_master_smmuv3_ser, l1_cdtab_lu_state),
           KHOABI_FIELD(iommu_master_smmuv3_ser, num_l2_cdtables),
           KHOABI_FIELD(iommu_master_smmuv3_ser, padding),
           KHOABI_FIELD(iommu_master_smmuv3_ser, l2_cdtab_lu_states_phys)}),
      Record<iommu_device_ser_b>(
          kIommuB, "iommu_device_ser", "iommu_device_ser_b",
          {KHOABI_FIELD(iommu_device_ser_b, hdr), KHOABI_FIELD(iommu_device_ser_b, devid),
           KHOABI_FIELD(iommu_device_ser_b, pci_domain_nr),
           KHOABI_FIELD(iommu_device_ser_b, dma_owner_token),
           KHOABI_FIELD(iommu_device_ser_b, domain_iommu_ser),
           KHOABI_FIELD(iommu_device_ser_b, intel), KHOABI_FIELD(iommu_device_ser_b, smmuv3)},
          IOMMU_B_DEVICES_PER_PAGE),
      Record<iommu_smmuv3_hw_ser>(kIommuB, "iommu_smmuv3_hw_ser", "iommu_smmuv3_hw_ser",
                                  {KHOABI_FIELD(iommu_smmuv3_hw_ser, phys_addr),
                                   KHOABI_FIELD(iommu_smmuv3_hw_ser, strtab_base_cfg),
                                   KHOABI_FIELD(iommu_smmuv3_hw_ser, l1_strtab_lu_state),
                                   KHOABI_FIELD(iommu_smmuv3_hw_ser, l2_strtab_lu_states_phys)}),
      Record<iommu_hw_ser_b>(
          kIommuB, "iommu_hw_ser", "iommu_hw_ser_b",
          {KHOABI_FIELD(iommu_hw_ser_b, hdr), KHOABI_FIELD(iommu_hw_ser_b, token),
           KHOABI_FIELD(iommu_hw_ser_b, type), KHOABI_FIELD(iommu_hw_ser_b, intel),
           KHOABI_FIELD(iommu_hw_ser_b, smmuv3)},
          IOMMU_B_HW_PER_PAGE),
  });

  add({
      Record<pasid_dir_entry>(kVtd, "pasid_dir_entry", "pasid_dir_entry",
                              {KHOABI_FIELD(pasid_dir_entry, val)}),
      Record<pasid_entry>(kVtd, "pasid_entry", "pasid_entry", {KHOABI_FIELD(pasid_entry, val)}),
  });
  return m;
}

#undef KHOABI_FIELD

using Json = nlohmann::ordered_json;

absl::StatusOr<uint64_t> GetU64(const Json& j, const char* key, absl::string_view where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"", key, "\" missing or not an unsigned integer"));
  }
  return it->get<uint64_t>();
}

absl::StatusOr<std::string> GetString(const Json& j, const char* key, absl::string_view where,
                                      bool optional = false) {
  auto it = j.find(key);
  if (it == j.end() && optional) return std::string();
  if (it == j.end() || !it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"", key, "\" missing or not a string"));
  }
  return it->get<std::string>();
}

}  // namespace

const AbiVersion* LayoutManifest::FindAbi(absl::string_view id_or_alias) const {
  for (const AbiVersion& a : abis) {
    if (a.id == id_or_alias || (!a.alias.empty() && a.alias == id_or_alias)) return &a;
  }
  return nullptr;
}

std::vector<const RecordLayout*> LayoutManifest::RecordsOf(absl::string_view abi_id) const {
  std::vector<const RecordLayout*> out;
  for (const RecordLayout& r : records) {
    if (r.abi == abi_id) out.push_back(&r);
  }
  return out;
}

const LayoutManifest& BuiltinManifest() {
  static const LayoutManifest* const kManifest = new LayoutManifest(MakeBuiltin());
  return *kManifest;
}

std::string ManifestToJson(const LayoutManifest& m) {
  Json abis = Json::array();
  for (const AbiVersion& a : m.abis) {
    abis.push_back({{"id", a.id},
                    {"alias", a.alias},
                    {"layer", a.layer},
                    {"compatible", a.compatible},
                    {"version", a.version}});
  }
  Json records = Json::array();
  for (const RecordLayout& r : m.records) {
    Json fields = Json::array();
    for (const FieldLayout& f : r.fields) {
      fields.push_back({{"name", f.name}, {"offset", f.offset}, {"size", f.size}});
    }
    Json rec = {
        {"abi", r.abi}, {"struct", r.upstream_struct}, {"c_type", r.c_type}, {"size", r.size}};
    if (r.per_page != 0) rec["per_page"] = r.per_page;
    rec["fields"] = std::move(fields);
    records.push_back(std::move(rec));
  }
  Json root = {{"abis", std::move(abis)}, {"records", std::move(records)}};
  return root.dump(2) + "\n";
}

absl::StatusOr<LayoutManifest> ManifestFromJson(absl::string_view text) {
  Json root = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError("manifest is not valid JSON");
  LayoutManifest m;
  const Json* records = &root;
  if (root.is_object()) {
    auto abis = root.find("abis");
    if (abis != root.end()) {
      if (!abis->is_array()) return absl::InvalidArgumentError("\"abis\" is not an array");
      for (size_t i = 0; i < abis->size(); ++i) {
        const Json& a = (*abis)[i];
        std::string where = absl::StrCat("abis[", i, "]");
        if (!a.is_object()) return absl::InvalidArgumentError(where + " is not an object");
        AbiVersion v;
        absl::StatusOr<std::string> s = GetString(a, "id", where);
        if (!s.ok()) return s.status();
        v.id = *s;
        for (auto [key, dst] : {std::pair<const char*, std::string*>{"alias", &v.alias},
                                {"layer", &v.layer},
                                {"compatible", &v.compatible}}) {
          s = GetString(a, key, where, /*optional=*/true);
          if (!s.ok()) return s.status();
          *dst = *s;
        }
        if (a.contains("version")) {
          absl::StatusOr<uint64_t> ver = GetU64(a, "version", where);
          if (!ver.ok()) return ver.status();
          v.version = *ver;
        }
        m.abis.push_back(std::move(v));
      }
    }
    auto it = root.find("records");
    if (it == root.end()) return absl::InvalidArgumentError("manifest has no \"records\"");
    records = &*it;
  }
  if (!records->is_array()) return absl::InvalidArgumentError("\"records\" is not an array");
  for (size_t i = 0; i < records->size(); ++i) {
    const Json& r = (*records)[i];
    std::string where = absl::StrCat("records[", i, "]");
    if (!r.is_object()) return absl::InvalidArgumentError(where + " is not an object");
    RecordLayout rec;
    absl::StatusOr<std::string> s = GetString(r, "abi", where);
    if (!s.ok()) return s.status();
    rec.abi = *s;
    s = GetString(r, "struct", where);
    if (!s.ok()) return s.status();
    rec.upstream_struct = *s;
    s = GetString(r, "c_type", where, /*optional=*/true);
    if (!s.ok()) return s.status();
    rec.c_type = s->empty() ? rec.upstream_struct : *s;
    absl::StatusOr<uint64_t> n = GetU64(r, "size", where);
    if (!n.ok()) return n.status();
    rec.size = *n;
    if (r.contains("per_page")) {
      n = GetU64(r, "per_page", where);
      if (!n.ok()) return n.status();
      rec.per_page = *n;
    }
    auto fields = r.find("fields");
    if (fields == r.end() || !fields->is_array()) {
      return absl::InvalidArgumentError(where + ": \"fields\" missing or not an array");
    }
    for (size_t k = 0; k < fields->size(); ++k) {
      const Json& f = (*fields)[k];
      std::string fwhere = absl::StrCat(where, ".fields[", k, "]");
      if (!f.is_object()) return absl::InvalidArgumentError(fwhere + " is not an object");
      FieldLayout field;
      s = GetString(f, "name", fwhere);
      if (!s.ok()) return s.status();
      field.name = *s;
      n = GetU64(f, "offset", fwhere);
      if (!n.ok()) return n.status();
      field.offset = *n;
      n = GetU64(f, "size", fwhere);
      if (!n.ok()) return n.status();
      field.size = *n;
      rec.fields.push_back(std::move(field));
    }
    m.records.push_back(std::move(rec));
  }
  return m;
}

std::string ManifestToText(const LayoutManifest& m) {
  std::string out;
  for (const AbiVersion& a : m.abis) {
    absl::StrAppend(&out, "ABI ", a.id);
    if (!a.alias.empty()) absl::StrAppend(&out, " (", a.alias, ")");
    if (!a.compatible.empty()) absl::StrAppend(&out, "  compatible \"", a.compatible, "\"");
    if (a.version != 0) absl::StrAppend(&out, "  version ", a.version);
    absl::StrAppend(&out, "\n");
    for (const RecordLayout* r : m.RecordsOf(a.id)) {
      absl::StrAppendFormat(&out, "  struct %s  size %u", r->upstream_struct, r->size);
      if (r->c_type != r->upstream_struct) absl::StrAppend(&out, "  (abi: ", r->c_type, ")");
      if (r->per_page != 0) absl::StrAppend(&out, "  per page ", r->per_page);
      absl::StrAppend(&out, "\n");
      for (const FieldLayout& f : r->fields) {
        absl::StrAppendFormat(&out, "    @%-4u %-26s %u bytes\n", f.offset, f.name, f.size);
      }
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace khoabi
