#!/usr/bin/env bash
# s2s-latency.sh: what a path through three switches costs against one. The
# same open-loop agency load (lexnode agency) runs twice in one go: straight
# to a switch with every state's responder on it, then through an edge switch,
# a national switch and a state-side switch (joined with upstream =,
# upstream_serves = '*') to the same responders. Prints both latency
# distributions and their ratio. dev_plain on 127.0.0.1; speed is measured
# here, never asserted in tests.
#
# usage: perf/s2s-latency.sh [BIN_DIR] [RATE] [SECONDS] [DURABILITY]
#        defaults: build/bin 500 5 sync
set -euo pipefail
bin="$(cd "${1:-$(dirname "$0")/../build/bin}" && pwd)"
rate="${2:-500}" secs="${3:-5}" durability="${4:-sync}"
work="$(mktemp -d /tmp/lexs2sperf.XXXXXX)"
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
"$bin/lexctl" directory --locals 2 > dir.txt
port=$((20000 + $$ % 20000))

switch() {  # NAME PORT EXTRA...
  local name="$1" p="$2"
  shift 2
  "$bin/lexswitch" --set dev_plain=1 --bind-tcp "tcp://127.0.0.1:$p" --data "$name-data" \
    --directory dir.txt --durability "$durability" --ready-file "$name.ready" "$@" \
    2> "$name.log" &
  pids+=($!)
  for _ in $(seq 1 200); do [ -e "$name.ready" ] && return; sleep 0.05; done
  echo "s2s-latency: $name did not start" >&2; exit 1
}
responders() {  # PORT
  rm -f st.ready
  "$bin/lexnode" state --connect "tcp://127.0.0.1:$1" --drivers 2000 --vehicles 2000 \
    --ready-file st.ready 2> st.log &
  pids+=($!)
  for _ in $(seq 1 400); do [ -e st.ready ] && return; sleep 0.05; done
  echo "s2s-latency: responders did not register" >&2; exit 1
}
load() {  # PORT OUT
  "$bin/lexnode" agency --connect "tcp://127.0.0.1:$1" -D dir.txt --rate "$rate" -t "$secs" \
    --grace 3 --drivers 2000 --vehicles 2000 -q --stats-file "$2" 2> "$2.log"
}
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
field() { python3 -c "import json,sys; d=json.load(open('$1')); print(d$2)"; }

# one switch
switch one $port
responders $port
load $port one.json
stop_all

# edge -> national -> state side
switch national $((port + 1))
switch stateside $((port + 2)) --set "upstream=tcp://127.0.0.1:$((port + 1))" --set 'upstream_serves=*'
switch edge $((port + 3)) --set "upstream=tcp://127.0.0.1:$((port + 1))" --set 'upstream_serves=*'
for s in stateside edge; do
  for _ in $(seq 1 200); do grep -q "joined upstream" "$s.log" && break; sleep 0.05; done
done
responders $((port + 2))
load $((port + 3)) three.json
stop_all

printf "%-16s %8s %8s %10s %10s %10s\n" path answers unanswd p50_us p99_us mean_us
for r in one three; do
  printf "%-16s %8s %8s %10s %10s %10s\n" "$r switch(es)" "$(field $r.json "['answers']")" \
    "$(field $r.json "['unanswered']")" "$(field $r.json "['latency_us']['p50']")" \
    "$(field $r.json "['latency_us']['p99']")" "$(field $r.json "['latency_us']['mean']")"
done
python3 - <<EOF
import json
a = json.load(open("one.json"))["latency_us"]; b = json.load(open("three.json"))["latency_us"]
print("three/one: p50 %.2fx  p99 %.2fx  mean %.2fx  (rate $rate/s, ${secs} s, durability $durability)"
      % (b["p50"] / a["p50"], b["p99"] / a["p99"], b["mean"] / a["mean"]))
EOF
