#!/usr/bin/env bash
# run.sh: fuzzes one target, or all of them one after another, for SECONDS
# each with libFuzzer (docs/FUZZING.md). Builds build-fuzz/ first when needed
# (./setup.sh --fuzz). New inputs go to build-fuzz/fuzz/corpus/TARGET, crash
# inputs to $FUZZ_ARTIFACTS (default build-fuzz/fuzz/artifacts/TARGET/), logs
# to build-fuzz/fuzz/logs/. Exits 1 if any target found a crash, leak or hang.
# Usage: tests/fuzz/run.sh TARGET|all SECONDS   (targets: envelope body rules config directory)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
targets=(envelope body rules config directory)

if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 TARGET|all SECONDS   (targets: ${targets[*]})" >&2
  exit 2
fi
if [ "$1" = all ]; then
  run=("${targets[@]}")
elif [[ " ${targets[*]} " == *" $1 "* ]]; then
  run=("$1")
else
  echo "run.sh: unknown target '$1' (targets: ${targets[*]})" >&2
  exit 2
fi
seconds="$2"

# build (or bring up to date) the libFuzzer binaries
if [ ! -f "$root/build-fuzz/CMakeCache.txt" ]; then
  "$root/setup.sh" --fuzz
else
  cmake --build "$root/build-fuzz" -j"$(nproc)" --target fuzz_all >/dev/null
fi

work="$root/build-fuzz/fuzz"
mkdir -p "$work/logs"
# targets that load files write each input to a scratch file: on tmpfs that
# is fifteen times faster than on disk
scratch_base="$work"
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch_base=/dev/shm
scratch="$(mktemp -d "$scratch_base/lexfuzz-run.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
status=0
printf '%-10s %8s %10s %8s %6s %6s %8s  %s\n' target seconds execs exec/s cov ft corpus result
for t in "${run[@]}"; do
  corpus="$work/corpus/$t"
  artifacts="${FUZZ_ARTIFACTS:-$work/artifacts}/$t"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [ -f "$root/tests/fuzz/dict/$t.dict" ] && dict=(-dict="$root/tests/fuzz/dict/$t.dict")
  log="$work/logs/$t.log"
  rc=0
  # the first corpus directory receives new inputs; the seeds stay as they are
  TMPDIR="$scratch" "$root/build-fuzz/bin/fuzz_$t" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "$root/tests/fuzz/corpus/$t" \
    "$root/tests/fuzz/regressions/$t" >"$log" 2>&1 || rc=$?
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  files=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="FOUND (exit $rc): $(grep -m1 -o 'ERROR: [^(]*\|SUMMARY: .*' "$log" | head -1); see $log and $artifacts/"
    status=1
  fi
  printf '%-10s %8s %10s %8s %6s %6s %8s  %s\n' "$t" "$seconds" "${execs:--}" "${rate:--}" \
    "${cov:--}" "${ft:--}" "$files" "$result"
done
exit $status
