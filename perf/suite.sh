#!/usr/bin/env bash
# perf/suite.sh: the benchmark suite. In ONE run on this machine it measures
# the baselines (bare ZeroMQ forwarder, bare RocksDB group commit) and the
# switch (durability none/batch/sync, an open-loop ladder, 100 vs 18,000
# connected nodes, instructions per routed message under callgrind), then
# writes perf/results/latest.md and latest.json with every figure and its
# ratio to the baseline measured beside it.
#   perf/suite.sh [--quick] [--no-callgrind] [--nodes N] [--keep]
# --keep: leave the work directory (every run's JSON, logs, callgrind files).
# --quick: short runs and 3,000 connected nodes (about two minutes), to
# check the suite itself; the figures to quote come from a full run.
set -euo pipefail
cd "$(dirname "$0")/.."

suite_cmd="perf/suite.sh${*:+ $*}"
quick=0 callgrind=1 keep=0 nodes=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-callgrind) callgrind=0 ;;
    --keep) keep=1 ;;
    --nodes) nodes=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "suite: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

bin=build/bin
progs=(lexswitch lexload lexecho lexfwd lexgc lexctl)
rebuild=0
for p in "${progs[@]}"; do [ -x "$bin/$p" ] || rebuild=1; done
if [ $rebuild = 0 ] && [ -n "$(find switch nodes schemas perf CMakeLists.txt -newer $bin/lexswitch \
      \( -name '*.c' -o -name '*.h' -o -name CMakeLists.txt \) -print -quit)" ]; then
  rebuild=1
fi
if [ $rebuild = 1 ]; then
  echo "suite: building" >&2
  ./setup.sh >/dev/null
fi

if [ $quick = 1 ]; then
  closed_s=3 warm_s=1 open_s=3 nodes_s=3 gc_s=1 cg_small=500 cg_big=2500
  ladder=(10000 50000)
  nodes=${nodes:-3000}
else
  nodes=${nodes:-18000}
  closed_s=10 warm_s=2 open_s=10 nodes_s=10 gc_s=5 cg_small=2000 cg_big=12000
  ladder=(5000 10000 20000 50000)
fi
body=300 inflight=1024 conns=64

# 18,000 connections need about 18,000 descriptors in the switch and two in
# the holder processes per connection: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
# a holder process polls all its connections: several small ones register
# faster than one large one, and each stays well inside the limit
holder_max=$(( (fd_limit - 200) / 2 ))
[ $holder_max -gt 4500 ] && holder_max=4500
# the switch accepts its limit less a reserve (docs/OPERATIONS.md, "Limits"):
# 64 plus one descriptor in 16, at most 1024 more; 300 for the other nodes
reserve=$(( 64 + (fd_limit / 16 < 1024 ? fd_limit / 16 : 1024) + 300 ))
if [ "$fd_limit" -lt $(( nodes + reserve )) ]; then
  echo "suite: open-file limit $fd_limit is too low for $nodes nodes; using $(( fd_limit - reserve ))" >&2
  nodes=$(( fd_limit - reserve ))
fi

work=$(mktemp -d /tmp/lexsuite.XXXXXX)
pids=()
switch_flags=()   # extra lexswitch flags for a group of runs
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ $keep = 1 ]; then echo "suite: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p perf/results
# what else the machine was doing: the load average before and after
uptime > "$work/uptime-start.txt"

# a directory big enough for 18,000 connected agencies and the 2,000 that
# carry the traffic (360 local agencies a state: about 20,400 in all)
$bin/lexctl directory --locals 360 > "$work/directory.txt"
common_load=(-D "$work/directory.txt" --quiet --federal-pct 0)

wait_file() { # FILE SECONDS
  local n=$(( $2 * 20 ))
  for _ in $(seq "$n"); do [ -s "$1" ] && return 0; sleep 0.05; done
  echo "suite: $1 did not appear in $2 s" >&2
  return 1
}

wait_ready() { # FILE SECONDS PID: like wait_file, but gives up when PID has exited
  local n=$(( $2 * 10 ))
  for _ in $(seq "$n"); do
    [ -s "$1" ] && return 0
    kill -0 "$3" 2>/dev/null || { echo "suite: $1: its process exited" >&2; return 1; }
    sleep 0.1
  done
  echo "suite: $1 did not appear in $2 s" >&2
  return 1
}

forget() { # PID: drop from the cleanup list
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
  pids=("${keep[@]}")
}

stop() { # PID...
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; forget "$p"; done
}

proc_facts() { # PID LABEL: peak memory and CPU seconds of a running process
  local hwm ticks
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$1/status")
  ticks=$(awk '{print $14 + $15}' "/proc/$1/stat")
  echo "{\"vmhwm_kb\": $hwm, \"cpu_s\": $(awk -v t="$ticks" -v h="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / h}')}" \
    > "$work/$2.proc.json"
}

start_switch() { # LABEL DURABILITY [valgrind args...]
  local label=$1 mode=$2; shift 2
  rm -f "$work/sw.ready"
  "$@" $bin/lexswitch --bind-tcp 'tcp://127.0.0.1:*' --data "$work/data-$label" \
      --rules tools/scenario --directory "$work/directory.txt" --durability "$mode" \
      --ready-file "$work/sw.ready" --stats-file "$work/$label.stats.json" --set dev_plain=1 \
      "${switch_flags[@]}" \
      2>"$work/$label.switch.log" &
  sw_pid=$!; pids+=("$sw_pid")
  wait_file "$work/sw.ready" 120
  sw_ep=$(head -1 "$work/sw.ready")
}

start_echo() { # ENDPOINT [--bare]
  $bin/lexecho --connect "$1" --body-bytes $body ${2:-} 2>>"$work/echo.log" &
  echo_pid=$!; pids+=("$echo_pid")
}

start_fwd() {
  rm -f "$work/fwd.ready"
  "$@" $bin/lexfwd --bind 'tcp://127.0.0.1:*' --ready-file "$work/fwd.ready" 2>"$work/fwd.log" &
  fwd_pid=$!; pids+=("$fwd_pid")
  wait_file "$work/fwd.ready" 60
  fwd_ep=$(head -1 "$work/fwd.ready")
}

load() { # LABEL ARGS...: lexload into LABEL.json (a failed run is recorded, not fatal)
  local label=$1; shift
  echo "suite: $label" >&2
  echo "$label: lexload $*" >> "$work/commands.txt"
  $bin/lexload --label "$label" --json "$work/$label.json" --svg "$work/$label" "$@" \
      >"$work/$label.txt" 2>&1 || echo "suite: $label reported missing answers or errors" >&2
}

closed=(--inflight $inflight --body-bytes $body -t $closed_s --warmup $warm_s --conns $conns)

bare_closed() { # LABEL
  start_fwd; start_echo "$fwd_ep" --bare
  load "$1" --bare -c "$fwd_ep" "${closed[@]}" "${common_load[@]}"
  proc_facts "$fwd_pid" "$1"
  stop "$echo_pid" "$fwd_pid"
}

switch_closed() { # LABEL DURABILITY
  start_switch "$1" "$2"; start_echo "$sw_ep"
  load "$1" -c "$sw_ep" "${closed[@]}" "${common_load[@]}"
  proc_facts "$sw_pid" "$1"
  stop "$echo_pid" "$sw_pid"
}

# 1. closed loop, 1024 in flight, 300-byte bodies: the bare forwarder before
#    and after the switch runs, so drift on a shared machine shows
bare_closed bare-closed-1
for mode in none batch sync; do switch_closed "switch-closed-$mode" $mode; done
bare_closed bare-closed-2

# 2. the bare group-commit writer: one fsync per record, and per 1024
for b in 1 1024; do
  echo "suite: gc-$b" >&2
  echo "gc-$b: lexgc --batch $b --duration $gc_s (460-byte records, synced)" >> "$work/commands.txt"
  $bin/lexgc --dir "$work/gc-$b" --batch $b --duration $gc_s --json "$work/gc-$b.json" \
      >"$work/gc-$b.txt"
  rm -rf "$work/gc-$b"
done

# 3. open loop, Poisson arrivals, sync durability, a ladder of rates; the
#    bare forwarder at the top rate gives the latency floor
start_fwd; start_echo "$fwd_ep" --bare
top=${ladder[${#ladder[@]}-1]}
load "bare-open-$top" --bare -c "$fwd_ep" --rate "$top/s" --poisson --body-bytes $body \
    -t $open_s --warmup 1 --conns $conns "${common_load[@]}"
stop "$echo_pid" "$fwd_pid"
for rate in "${ladder[@]}"; do
  start_switch "switch-open-$rate" sync; start_echo "$sw_ep"
  load "switch-open-$rate" -c "$sw_ep" --rate "$rate/s" --poisson --body-bytes $body \
      -t $open_s --warmup 1 --conns $conns "${common_load[@]}"
  proc_facts "$sw_pid" "switch-open-$rate"
  stop "$echo_pid" "$sw_pid"
done

# 4. connected nodes: 100 carrying the load, alone and with idle holders
#    making the total up to $nodes (sync durability, closed loop as in 1)
traffic_agencies=2000
nodes_run() { # LABEL IDLE
  local label=$1 idle=$2 first=$traffic_agencies holders=() i=0 registered=1 t0=$SECONDS
  start_switch "$label" sync; start_echo "$sw_ep"
  # one holder at a time: each registers while the others only heartbeat
  while [ "$idle" -gt 0 ] && [ $registered = 1 ]; do
    local n=$(( idle < holder_max ? idle : holder_max )) hp
    rm -f "$work/hold-$i.ready"
    $bin/lexload --hold --quiet -c "$sw_ep" -D "$work/directory.txt" --conns $n \
        --agencies "$first:$n" -t 3600 --ready-file "$work/hold-$i.ready" \
        2>"$work/$label.hold-$i.log" &
    hp=$!; holders+=($hp); pids+=($hp)
    wait_ready "$work/hold-$i.ready" 150 "$hp" || registered=0
    first=$(( first + n )); idle=$(( idle - n )); i=$(( i + 1 ))
  done
  local register_s=$(( SECONDS - t0 )) dropped
  load "$label" -c "$sw_ep" --inflight $inflight --body-bytes $body -t $nodes_s \
      --warmup $warm_s --conns 100 --agencies "0:$traffic_agencies" "${common_load[@]}"
  proc_facts "$sw_pid" "$label"
  # nodes the switch dropped as silent (registration and traffic run)
  dropped=$(grep -c 'silent for over' "$work/$label.switch.log" || true)
  echo "{\"idle_nodes\": $(( first - traffic_agencies )), \"register_s\": $register_s, \"registered\": $registered, \"dropped\": ${dropped:-0}}" \
      > "$work/$label.nodes.json"
  [ ${#holders[@]} -gt 0 ] && stop "${holders[@]}"
  stop "$echo_pid" "$sw_pid"
}
# as a switch for a whole country's agencies would run: nodes heartbeat every
# 10 s (the interval the switch names in WELCOME), not every second
switch_flags=(--heartbeat-ms 10000 --dead-after-ms 35000)
nodes_run nodes-100 0
half=$(( nodes / 2 ))
[ $half -gt 1000 ] && nodes_run "nodes-$half" $(( half - 100 ))  # how it scales on the way
nodes_run "nodes-$nodes" $(( nodes - 100 ))
switch_flags=()

# 5. instructions per routed message: callgrind on the switch (sync) and on
#    the bare forwarder, each at two message counts; the difference divided
#    by the difference in routed messages leaves start-up and shutdown out
cg_total() { # callgrind output file -> total instructions
  awk '/^(summary|totals):/ {print $2; exit}' "$1"
}
if [ $callgrind = 1 ] && command -v valgrind >/dev/null; then
  for n in $cg_small $cg_big; do
    echo "suite: callgrind switch $n" >&2
    start_switch "cg-switch-$n" sync valgrind --tool=callgrind \
        --callgrind-out-file="$work/cg-switch-$n.out"
    start_echo "$sw_ep"
    $bin/lexload -c "$sw_ep" --inflight 64 --count "$n" -t 600 --body-bytes $body \
        --conns 16 --label "cg-switch-$n" --json "$work/cg-switch-$n.json" "${common_load[@]}" \
        >/dev/null 2>&1 || true
    stop "$echo_pid" "$sw_pid"
    echo "{\"ir\": $(cg_total "$work/cg-switch-$n.out"), \"routed\": $(python3 -c \
      'import json,sys; s=json.load(open(sys.argv[1])); print(s.get("routed", s.get("forwarded", 0)))' \
      "$work/cg-switch-$n.stats.json")}" > "$work/cg-switch-$n.cg.json"
    echo "suite: callgrind forwarder $n" >&2
    start_fwd valgrind --tool=callgrind --callgrind-out-file="$work/cg-fwd-$n.out"
    start_echo "$fwd_ep" --bare
    $bin/lexload --bare -c "$fwd_ep" --inflight 64 --count "$n" -t 600 --body-bytes $body \
        --conns 16 --label "cg-fwd-$n" --json "$work/cg-fwd-$n.json" "${common_load[@]}" \
        >/dev/null 2>&1 || true
    stop "$echo_pid" "$fwd_pid"
    echo "{\"ir\": $(cg_total "$work/cg-fwd-$n.out"), \"routed\": $(sed -n \
      's/.*forwarded \([0-9]*\) messages.*/\1/p' "$work/fwd.log")}" > "$work/cg-fwd-$n.cg.json"
  done
  callgrind_annotate "$work/cg-switch-$cg_big.out" 2>/dev/null | head -60 \
      > "$work/cg-switch-top.txt" || true
elif [ $callgrind = 1 ]; then
  echo "suite: valgrind not installed (./setup.sh installs it): no instruction counts" >&2
fi

uptime > "$work/uptime-end.txt"
git rev-parse --short HEAD > "$work/commit.txt" 2>/dev/null || echo unknown > "$work/commit.txt"
git diff --quiet HEAD -- switch nodes schemas perf 2>/dev/null || echo "(with uncommitted changes)" >> "$work/commit.txt"
python3 perf/suite_report.py "$work" perf/results \
    --quick $quick --nodes "$nodes" --cg-small $cg_small --cg-big $cg_big \
    --ladder "${ladder[*]}" --cmd "$suite_cmd"
