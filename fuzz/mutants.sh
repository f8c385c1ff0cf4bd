#!/usr/bin/env bash
# Oracle strength: disables one validation check at a time and fuzzes to see
# whether the fuzz oracles notice.
#
# For each reason of lib/reasons.inc that can change a verdict (severity
# error or strict; warnings never reject, and invalid_argument and
# internal_error are never reported by a decode), the fuzz targets are built
# with -DKHOABI_MUTANT_REASON=<reason> for lib/diagnostics.cc only, which
# drops that reason's problems as if its check were gone. Then the targets
# that exercise it (its layer's target and the whole-handoff target) fuzz
# from their corpora, side by side, for up to --seconds. The mutant is caught
# when a target crashes: an oracle found an accepted input that breaks a
# promise (or a sanitizer found the decoder going wrong further on). Running
# out of memory or time is listed as "resource", not as caught.
#
#   fuzz/mutants.sh [--seconds N] [--baseline N] [REASON...]
#
# Before the mutants, the unchanged build fuzzes every target for --baseline
# seconds (default 20): a crash there would make the results meaningless.
# Results: a table on stdout and $WORKDIR/results.tsv (WORKDIR is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
seconds=60 baseline=20
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "mutants.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done

# name severity, for every reason.
mapfile -t all < <(sed -nE 's/^KHOABI_REASON\(k[A-Za-z0-9]+, "([a-z0-9_]+)", k[A-Za-z]+, k([A-Za-z]+),.*/\1 \2/p' \
  lib/reasons.inc)
reasons=("$@")
if ((${#reasons[@]} == 0)); then
  for r in "${all[@]}"; do
    read -r name severity <<<"$r"
    [[ $severity == Warning || $name == internal_error || $name == invalid_argument ]] && continue
    reasons+=("$name")
  done
fi

targets_for() {  # the targets that exercise a reason's check
  case $1 in
    elf_*|pa_outside_image|limit_image_size) echo "elf_reader handoff" ;;
    fdt_*|unknown_compatible|missing_*|bad_property_size|zero_pa|flb_*|unused_bytes_not_zero) echo "fdt handoff" ;;
    limit_fdt_depth) echo "fdt handoff" ;;
    tracker_*|limit_folios|limit_tracker_pages|limit_work) echo "tracker handoff" ;;
    iommu_*|claim_*|limit_chain_length|limit_objects) echo "iommu handoff" ;;
    pasid*|limit_pasid_tables) echo "pasid handoff" ;;
    *) echo "handoff" ;;
  esac
}

work=$(mktemp -d /tmp/khoabi-mutants.XXXXXX)
echo "==> work dir $work"
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)/fuzz

build() {  # build [REASON]: the fuzz targets, with that check disabled
  local copt=()
  [[ -n ${1:-} ]] && copt=(--per_file_copt="lib/diagnostics.cc@-DKHOABI_MUTANT_REASON=$1")
  bazel build --config=fuzz "${copt[@]}" //fuzz:all >"$work/build.log" 2>&1 ||
    { tail -n 20 "$work/build.log" >&2; exit 1; }
  rm -rf "$work/bin" && mkdir -p "$work/bin" && cp "$bin"/*_fuzzer "$work/bin/"
}

# fuzz DIR TIME TARGET...: fuzzes the targets side by side for up to TIME
# seconds, stopping all at the first crash; prints "target seconds message"
# of the first crash, or nothing.
fuzz() {
  local dir=$1 time=$2 t pids=() start now
  shift 2
  mkdir -p "$dir"
  start=$(date +%s)
  for t in "$@"; do
    mkdir -p "$dir/$t/new"
    (
      cd "$dir/$t" &&
        exec "$work/bin/${t}_fuzzer" -max_total_time="$time" \
          -max_len="$(sed -n 's/^max_len *= *//p' "$repo/fuzz/$t.options")" -timeout=10 \
          -rss_limit_mb=2560 -artifact_prefix="$dir/$t/" new "$repo/fuzz/corpus/$t" >log 2>&1
    ) &
    pids+=($!)
    echo "$t" >"$dir/pid.$!"
  done
  while :; do
    local running=0 crashed=""
    for p in "${pids[@]}"; do
      if kill -0 "$p" 2>/dev/null; then running=1; continue; fi
      t=$(cat "$dir/pid.$p")
      if compgen -G "$dir/$t/crash-*" >/dev/null || compgen -G "$dir/$t/oom-*" >/dev/null ||
         compgen -G "$dir/$t/timeout-*" >/dev/null; then
        crashed=$t
      fi
    done
    if [[ -n $crashed || $running == 0 ]]; then
      for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
      wait 2>/dev/null || true
      if [[ -n $crashed ]]; then
        now=$(date +%s)
        msg=$(grep -aE 'khoabi oracle failure|ERROR: [A-Za-z]+Sanitizer|ERROR: libFuzzer' \
          "$dir/$crashed/log" | head -n 1 | sed -E 's/^==[0-9]+== ?//; s/khoabi oracle failure \([a-z_]+\): //')
        echo "$crashed $((now - start)) $msg"
      fi
      return
    fi
    sleep 1
  done
}

echo "==> baseline: the unchanged build, every target for ${baseline}s"
build ""
for t in handoff elf_reader tracker fdt iommu pasid round_trip; do
  result=$(fuzz "$work/baseline" "$baseline" "$t")
  if [[ -n $result ]]; then
    echo "mutants.sh: the unchanged build crashes ($result); fix that first" >&2
    exit 1
  fi
done

printf '%s\t%s\t%s\t%s\t%s\n' reason caught target seconds oracle >"$work/results.tsv"
printf '\n%-28s %-7s %-11s %7s  %s\n' reason caught target seconds "what the oracle saw"
caught=0
for r in "${reasons[@]}"; do
  build "$r"
  read -r -a ts <<<"$(targets_for "$r")"
  result=$(fuzz "$work/$r" "$seconds" "${ts[@]}")
  if [[ -n $result ]]; then
    read -r t secs msg <<<"$result"
    verdict=yes
    if [[ $msg == *"out-of-memory"* || $msg == *"timeout"* ]]; then
      verdict=resource
    else
      caught=$((caught + 1))
    fi
    printf '%-28s %-7s %-11s %7s  %s\n' "$r" "$verdict" "$t" "$secs" "${msg:0:90}"
    printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$verdict" "$t" "$secs" "$msg" >>"$work/results.tsv"
  else
    joined=$(IFS=,; echo "${ts[*]}")
    printf '%-28s %-7s %-11s %7s\n' "$r" NO "$joined" "$seconds"
    printf '%s\tno\t%s\t%s\t\n' "$r" "$joined" "$seconds" >>"$work/results.tsv"
  fi
done
build ""  # leave the normal build behind
echo
echo "caught $caught of ${#reasons[@]} disabled checks (results: $work/results.tsv)"
