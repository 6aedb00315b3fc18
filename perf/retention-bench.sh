#!/usr/bin/env bash
# perf/retention-bench.sh: what pruning a retention backlog costs the traffic.
# Builds a backlog of RECORDS audit-log records 800 to 400 days old (written
# with the log library, bench_auditlog --backlog), then runs the same lexload
# open-loop load twice on copies of it in one run: once with retention off,
# once with retention_days=400, where the pass over the backlog is confirmed
# (it is over retention_max_share) a few seconds into the load, so it is
# pruned, a slice a tick, while the load runs. Prints p50/p99 of both and
# the ratio.
#   perf/retention-bench.sh [RECORDS] [RATE] [SECONDS] [SLICE]
# e.g. perf/retention-bench.sh 2000000 1500/s 15 10000
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-2000000}
rate=${2:-1500/s}
secs=${3:-15}
slice=${4:-10000}
bin=build/bin
[ -x $bin/lexload ] && [ -x $bin/bench_auditlog ] || { echo "build first" >&2; exit 1; }
work=$(mktemp -d /tmp/lexretention.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p perf/results
$bin/lexctl directory > "$work/directory.txt"

t0=$(date +%s.%N)
$bin/bench_auditlog --records "$records" --dir "$work/backlog" --backlog >"$work/backlog.log"
printf 'backlog: %s records in %.1f s\n' "$records" "$(echo "$(date +%s.%N) - $t0" | bc)"

run() { # run NAME RETENTION_DAYS
  local name=$1 days=$2
  rm -rf "$work/data" "$work/ready" "$work/states.ready"
  cp -a "$work/backlog" "$work/data"
  $bin/lexswitch --bind-tcp '' --bind-ipc "ipc://$work/sw.sock" --data "$work/data" \
      --rules tools/scenario --directory "$work/directory.txt" --ready-file "$work/ready" \
      --set dev_plain=1 --set retention_days="$days" --set retention_check_s=1 \
      --set retention_slice="$slice" 2>"$work/switch-$name.log" &
  local sw=$!
  pids+=($sw)
  for _ in $(seq 400); do [ -f "$work/ready" ] && break; sleep 0.05; done
  $bin/lexnode state --connect "ipc://$work/sw.sock" --ready-file "$work/states.ready" \
      2>"$work/states-$name.log" &
  local st=$!
  pids+=($st)
  for _ in $(seq 400); do [ -f "$work/states.ready" ] && break; sleep 0.05; done
  $bin/lexload --connect "ipc://$work/sw.sock" --directory "$work/directory.txt" \
      --rate "$rate" --duration "$secs" --warmup 1 --quiet \
      --json "perf/results/retention-$name.json" >/dev/null &
  local ld=$!
  if [ "$days" -gt 0 ]; then
    sleep 3
    for _ in $(seq 100); do
      $bin/lexctl retention status --data "$work/data" | grep -q waiting && break; sleep 0.1
    done
    $bin/lexctl retention confirm --data "$work/data" >/dev/null
    local c0; c0=$(date +%s.%N)
    for _ in $(seq 600); do
      grep -q "the log starts at record" "$work/switch-$name.log" && break; sleep 0.05
    done
    printf 'pruned: %s\n' "$(grep -o 'removed records.*' "$work/switch-$name.log" | head -1)"
    printf 'pruning took about %.2f s from the confirmation (slices of %s records)\n' \
      "$(echo "$(date +%s.%N) - $c0" | bc)" "$slice"
  fi
  wait $ld || true
  kill -TERM $st $sw; wait $st $sw 2>/dev/null || true
}

run plain 0
run prune 400
python3 - perf/results/retention-plain.json perf/results/retention-prune.json <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
la, lb = a["latency_us"], b["latency_us"]
print(f'{"run":<22} {"achieved/s":>10} {"p50_us":>8} {"p99_us":>8} {"max_us":>8}')
for name, r, l in (("without pruning", a, la), ("pruning the backlog", b, lb)):
    print(f'{name:<22} {r["throughput"]:>10.1f} {l["p50"]:>8} {l["p99"]:>8} {l["max"]:>8}')
print(f'ratio p50 {lb["p50"] / la["p50"]:.2f}  p99 {lb["p99"] / la["p99"]:.2f}  (target p99 <= 2)')
PY
