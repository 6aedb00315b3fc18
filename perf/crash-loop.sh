#!/usr/bin/env bash
# crash-loop.sh: kills the switch with SIGKILL under load, again and again
# (tests/test_crash.c, a fresh kill point each run), and counts the runs in
# which a received message was missing from the log or the chain failed.
# Not part of ctest. Usage: perf/crash-loop.sh [RUNS=50] [sync|batch|none] [curve]
# (or CURVE=1): with curve, every process speaks CURVE on a key bound to
# its exact ORIs. A failed run's whole output is kept in perf/results/.
# Runs where the kill cut the WAL inside its last record pass only if the
# switch's open cuts that unfinished batch off with nothing a node
# received in it, and the log verifies as intact.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
mode=${2:-sync}
curve=${CURVE:-0}
[ "${3:-}" = curve ] && curve=1
bin=${CRASH_BIN:-build/bin/test_crash}
test=crash/every_received_message_is_logged_across_a_kill_and_restart
[ -x "$bin" ] || { echo "crash-loop: build first (./setup.sh)" >&2; exit 2; }
label=$mode
[ "$curve" = 1 ] && label="$mode, CURVE"
mkdir -p perf/results
pass=0
fail=0
received=0
cut=0
for i in $(seq 1 "$runs"); do
  out=$(LEX_CRASH_DURABILITY=$mode LEX_CRASH_CURVE=$curve "$bin" --filter "$test" 2>&1)
  if echo "$out" | grep -q "Passing: 1 | Failing: 0 | Crashing: 0"; then
    pass=$((pass + 1))
    n=$(echo "$out" | sed -n 's/.*test_crash: \([0-9]*\) messages received before the kill.*/\1/p')
    received=$((received + ${n:-0}))
    if echo "$out" | grep -q "WAL cut by the kill, cut off at open"; then
      cut=$((cut + 1))
      echo "run $i: the kill cut the WAL; $(echo "$out" | grep -o 'ends inside a record ([^)]*)' | head -1);" \
           "$(echo "$out" | sed -n 's/.*cut off at open: //p' | head -1)"
    fi
  else
    fail=$((fail + 1))
    keep="perf/results/crash-loop-run$i.txt"
    echo "$out" > "$keep"
    echo "run $i FAILED ($keep): $(echo "$out" | grep -E 'seed|Assertion|not in the log|have no|exited|not ready' | head -4)"
  fi
done
echo "crash-loop ($label): $runs runs, $pass passed, $fail failed;" \
     "$received messages received before the kills, all checked against the log;" \
     "$cut runs left the WAL cut inside its last record (cut off at the next open," \
     "nothing a node received in it)"
[ "$fail" -eq 0 ]
