#!/usr/bin/env bash
# The main job of khoabi's README: the whole chain on a fresh machine.
#   1. the ABI versions and their layouts
#   2. encode: a preserving kernel's handoff (khoabi gen)
#   3. inspect it and validate it as a hardened restoring kernel would
#   4. corrupt it in several ways and show each precise rejection
#   5. the review's PASID rule: a device with PASIDs in use is refused at
#      preserve time, and a handoff that carries one anyway is rejected
#   6. fuzz the restore path for half a minute (fuzz/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ khoabi %s\n' "$*"; "$khoabi" "$@"; }

step "building khoabi (bazel build --config=opt //tools:khoabi)"
bazel build --config=opt //tools:khoabi >/tmp/khoabi-demo-build.log 2>&1 ||
  { tail -n 30 /tmp/khoabi-demo-build.log; exit 1; }
khoabi=$PWD/bazel-bin/tools/khoabi
repo=$PWD
work=$(mktemp -d /tmp/khoabi-demo.XXXXXX)
cd "$work"

step "1. the IOMMU ABI versions: every record's size and fields"
run layout --abi=A
echo "   ('khoabi layout' prints every layer and version; --json is the manifest)"
echo "   ABI B against A, record by record:"
run abi-diff A B

step "2. encode: a preserving kernel with 2 VT-d units, an SMMUv3, 6 devices, PASIDs 5 and 200 in use"
run gen --abi=B --intel-units=2 --smmu-units=1 --devices=6 --pasid=5 --pasid=200 \
  --max-pasid=1048576 --opaque-flbs=1 -o handoff.elf

step "3. inspect and validate it"
run inspect handoff.elf
run validate handoff.elf
echo "   (the warning is the opaque FLB's folio: another subsystem's state, which no IOMMU record"
echo "    claims; it is reported, not an error)"

step "4. corrupt it, one class at a time: each is rejected with its reason, path and PA"
for class in flb_count_over_capacity tracker_page_reused claim_twice iommu_chain_cycle \
             iommu_ref_wrong_type iommu_restored_field_set pasid_dir_order pasid_entry_pgtt; do
  "$khoabi" corrupt handoff.elf --class="$class" -o "$class.elf" >/dev/null
  printf '$ khoabi validate %s.elf\n' "$class"
  "$khoabi" validate --max-problems=1 "$class.elf" | sed -n '1,5p' || true
done
echo "   ($("$khoabi" corrupt --list | tail -n +2 | wc -l) classes in all: khoabi corrupt --list)"

step "5. the review's PASID rule (v2 11/16): NO_PASID only"
echo "   preserving a device with PASID 5 attached is refused, and nothing is cleared:"
run gen --abi=A --pasid=5 -o refused.elf || echo "   (exit status $?)"
echo "   a handoff that carries PASID 5 anyway (a stale image, or the old clearing path):"
run gen --abi=A --devices=2 -o abi_a.elf
run corrupt abi_a.elf --class=pasid_policy_pasid_in_use -o stale.elf
run validate stale.elf || echo "   (exit status $?)"
run explain pasid_policy_pasid_in_use

step "6. fuzz the restore path for 30 seconds (fuzz/run.sh; the first fuzz build takes a few minutes)"
(cd "$repo" && fuzz/run.sh --seconds 30 --interval 10 --no-merge) ||
  echo "   the fuzzers found crashes: the inputs are listed above"

step "done: the files are in $work"
