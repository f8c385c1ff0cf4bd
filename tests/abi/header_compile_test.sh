#!/usr/bin/env bash
# Each ABI header, included alone in a translation unit, must compile cleanly
# where the headers are meant to be used:
#   C11 with gcc and clang, C++17 with g++ and clang++ (-Wall -Wextra -Wpedantic
#   -Wconversion -Wsign-conversion -Werror), and a freestanding kernel-like build
#   (-ffreestanding -nostdinc -D__KERNEL__, kernel types only, no libc) with both.
# The translation unit also calls every inline helper, so their bodies are
# compiled in each mode (an unused static inline is never type-checked deeply).
set -u
cd "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-khoabi}" 2>/dev/null || true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

WARN=(-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Werror)
fail=0
count=0

use_helpers() {  # TU body that exercises the helpers of header $1
  case "$1" in
    kexec_handover.h) cat <<'C'
unsigned long long khoabi_probe(unsigned long long pa) {
  unsigned long long key = kho_radix_key(pa, 3);
  int order = kho_radix_key_order(key);
  return kho_radix_key_pa(key, order) + kho_radix_level_index(key, 2) + kho_radix_leaf_index(key);
}
C
    ;;
    vtd_pasid.h) cat <<'C'
unsigned int khoabi_probe(const struct pasid_entry *pe, uint64_t pde) {
  return vtd_pasid_entry_problems(pe) + vtd_pde_problems(pde) + vtd_pasid_dir_order(1u << 20) +
         (unsigned int)vtd_pasid_stored_max_order(vtd_pasid_stored_max(2)) + vtd_pe_did(pe) +
         vtd_pe_aw(pe) + vtd_pe_pgtt(pe) + vtd_pe_flpm(pe) + (unsigned int)vtd_pe_present(pe) +
         (unsigned int)vtd_pde_present(pde) + (unsigned int)(vtd_pe_slptptr(pe) >> 12) +
         (unsigned int)(vtd_pe_flptptr(pe) >> 12) + (unsigned int)(vtd_pde_table_phys(pde) >> 12) +
         (unsigned int)vtd_pasid_dir_entries(1u << 15);
}
C
    ;;
    iommu.h) cat <<'C'
unsigned int khoabi_probe(unsigned int bus, unsigned int devfn) {
  return iommu_intel_context_table_bit(bus, devfn);
}
C
    ;;
    *) echo "int khoabi_probe(void);" ;;
  esac
}

compile() {  # name, compiler, language, header, flags...
  local name=$1 cc=$2 lang=$3 header=$4
  shift 4
  local src="$tmp/tu.$lang"
  { echo "#include \"abi/$header\""; use_helpers "$header"; } >"$src"
  count=$((count + 1))
  if ! out=$("$cc" "$@" -I. -c "$src" -o "$tmp/tu.o" 2>&1); then
    echo "FAIL  $name  $header"
    echo "$out" | sed 's/^/      /'
    fail=1
  else
    printf 'ok    %-22s %s\n' "$name" "$header"
  fi
}

for h in abi/*.h; do
  h=$(basename "$h")
  compile "c11/gcc" gcc c "$h" -std=c11 "${WARN[@]}"
  compile "c11/clang" clang c "$h" -std=c11 "${WARN[@]}"
  compile "c++17/g++" g++ cc "$h" -std=c++17 "${WARN[@]}"
  compile "c++17/clang++" clang++ cc "$h" -std=c++17 "${WARN[@]}"
  for cc in gcc clang; do
    compile "kernel-like/$cc" "$cc" c "$h" -std=gnu11 -ffreestanding -nostdinc -D__KERNEL__ \
      -Itests/abi/fake_kernel -Wall -Wextra -Werror -Wno-sign-compare -O2 -fno-builtin
  done
done

# The freestanding object must not need anything from a libc.
{ echo '#include "abi/vtd_pasid.h"'; use_helpers vtd_pasid.h; } >"$tmp/k.c"
gcc -std=gnu11 -ffreestanding -nostdinc -D__KERNEL__ -Itests/abi/fake_kernel -I. -O2 -c "$tmp/k.c" -o "$tmp/k.o"
undefined=$(nm -u "$tmp/k.o")
if [[ -n $undefined ]]; then
  echo "FAIL  freestanding object has undefined symbols: $undefined"
  fail=1
fi

echo "$count compilations"
exit $fail
