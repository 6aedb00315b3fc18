#!/usr/bin/env bash
# perf/run-load.sh: measures the switch under lexload, with the audit log in
# each durability mode, in one run on this machine, so the figures can be
# read as ratios against the `none` baseline measured beside them.
#   perf/run-load.sh [RATE] [SECONDS] [MODES...]
# e.g. perf/run-load.sh 2k/s 10 none batch sync
# Prints one line per mode and writes perf/results/<mode>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-2k/s}
secs=${2:-10}
shift $(( $# > 2 ? 2 : $# ))
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(none batch sync)
bin=build/bin
[ -x $bin/lexload ] || { echo "build first: ./setup.sh" >&2; exit 1; }
work=$(mktemp -d /tmp/lexperf.XXXXXX)
trap 'pkill -TERM -P $$ 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p perf/results
$bin/lexctl directory > "$work/directory.txt"
printf '%-6s %10s %10s %8s %8s %8s %8s\n' mode asked achieved p50_us p90_us p99_us max_us
for mode in "${modes[@]}"; do
  rm -rf "$work/data" "$work/ready" "$work/states.ready"
  $bin/lexswitch --bind-tcp '' --bind-ipc "ipc://$work/sw.sock" --data "$work/data" \
      --rules tools/scenario --directory "$work/directory.txt" --durability "$mode" \
      --ready-file "$work/ready" --set dev_plain=1 2>"$work/switch-$mode.log" &
  sw=$!
  for _ in $(seq 200); do [ -f "$work/ready" ] && break; sleep 0.05; done
  $bin/lexnode state --connect "ipc://$work/sw.sock" --ready-file "$work/states.ready" \
      2>"$work/states-$mode.log" &
  st=$!
  for _ in $(seq 400); do [ -f "$work/states.ready" ] && break; sleep 0.05; done
  $bin/lexload --connect "ipc://$work/sw.sock" --directory "$work/directory.txt" \
      --rate "$rate" --duration "$secs" --quiet --json "perf/results/$mode.json" >/dev/null || true
  kill -TERM $st $sw; wait $st $sw 2>/dev/null || true
  python3 - "$mode" "$rate" "perf/results/$mode.json" <<'PY'
import json, sys
mode, rate, path = sys.argv[1:4]
r = json.load(open(path))
l = r["latency_us"]
print(f'{mode:<6} {rate:>10} {r["rate_achieved"]:>10.1f} {l["p50"]:>8} {l["p90"]:>8} {l["p99"]:>8} {l["max"]:>8}')
PY
done
