#!/usr/bin/env bash
# install_example.sh: installs the build into a temp prefix, compiles
# examples/state_responder.c against the INSTALLED liblexnode through
# pkg-config, and gets its answers to DQ, KQ and RQ through a real switch
# (the installed lexswitch, dev_plain, on an ipc endpoint in the temp dir).
# Usage: install_example.sh SOURCE_DIR BUILD_DIR [EXTRA_CFLAGS]
set -euo pipefail
src="$1"; build="$2"; extra="${3:-}"
tmp=$(mktemp -d /tmp/lexinstall.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "== $f"; cat "$f"; done; exit 1; }

# wait_for FILE PATTERN PID: polls (5 ms steps, 20 s deadline) until FILE
# holds PATTERN; fails when PID died first.
wait_for() {
  local deadline=$((SECONDS + 20))
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || fail "process $3 exited before $1 held '$2'"
    [ $SECONDS -lt $deadline ] || fail "$1 did not hold '$2' within 20 s"
    sleep 0.005
  done
}

prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/lexswitch bin/lexnode bin/lexctl include/lexnode/lexnode.h lib/pkgconfig/lexnode.pc \
         share/doc/lexswitch/PROTOCOL.md share/doc/lexswitch/examples/state_responder.c; do
  [ -e "$prefix/$f" ] || fail "cmake --install did not install $f"
done
[ -e "$prefix/lib/liblexnode.so.1" ] || fail "no liblexnode.so.1 (SOVERSION) installed"

# only the calls of lexnode.h are exported (the codec inside stays local)
extra_syms=$(nm -D --defined-only "$prefix/lib/liblexnode.so.1" | awk '{print $3}' |
             grep -Ev '^(lex_node_[a-z_]+|lex_fields_[a-z_]+|lex_strerror|lex_status_name)@@LEXNODE_1$|^LEXNODE_1$' || true)
[ -z "$extra_syms" ] || fail "liblexnode exports more than its API: $extra_syms"
nm -D --defined-only "$prefix/lib/liblexnode.so.1" | grep -q ' lex_node_query@@LEXNODE_1$' \
  || fail "liblexnode does not export lex_node_query"

flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs lexnode)
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror $extra -o "$tmp/state_responder" \
   "$src/examples/state_responder.c" $flags -Wl,-rpath,"$prefix/lib" \
   || fail "the example does not build against the installed library"

sock="ipc://$tmp/switch.sock"
"$prefix/bin/lexswitch" --bind-tcp '' --bind-ipc "$sock" --data "$tmp/data" \
  --ready-file "$tmp/switch.ready" --set dev_plain=1 --heartbeat-ms 200 >"$tmp/switch.log" 2>&1 &
pids+=($!)
wait_for "$tmp/switch.ready" . "${pids[0]}"
"$tmp/state_responder" "$sock" >"$tmp/responder.log" 2>&1 &
pids+=($!)
wait_for "$tmp/responder.log" registered "${pids[1]}"

ask() {   # ask KEY FIELD=VALUE EXPECTED...: one query through the switch
  local key="$1" word="$2"; shift 2
  local out
  out=$("$prefix/bin/lexctl" send --connect "$sock" --ori CA0190000 --to NV --timeout-ms 5000 \
        "$key" "$word" 2>&1) || fail "lexctl send $key $word: $out"
  for want in "$@"; do
    grep -q -- "$want" <<<"$out" || fail "$key $word: no '$want' in: $out"
  done
  echo "ok: $key $word"
}
ask DQ lic=N1000001 '"key": "DR"' 'DOE,JANE' '"src": "NVDMV0000"'
ask KQ lic=N1000002 '"key": "KR"' '"history": \[\]'
ask RQ plate=NVX002 '"key": "RR"' 'FORD'
ask DQ lic=Z9999999 '"key": "ST"' 'no-record'
echo "installed example answered through the switch"
