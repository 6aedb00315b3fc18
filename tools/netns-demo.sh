#!/usr/bin/env bash
# netns-demo.sh: lexswitch across machines, on one host. Three network
# namespaces joined by veth pairs to a bridge on 10.77.0.0/24 stand in for
# three machines: the national switch (10.77.0.1), a state data centre
# (10.77.0.2: Nevada's own switch joined to the national one, Nevada's
# responder on it, and California's and Texas's responders connected
# straight to the national switch) and an agency site (10.77.0.3). Every
# link is CURVE over TCP. Two veth pairs tie the state and agency
# namespaces to a bridge in the switch's namespace. It sends queries, checks the answers, and removes
# everything it made on exit.
#
# usage: tools/netns-demo.sh [BIN_DIR]   (default: build/bin); LEX_DEMO_VERBOSE=1
#        also prints every answer
# exit:  0 all checks passed, 1 a check failed, 77 cannot run here (reason
#        on stderr: needs root with CAP_NET_ADMIN and iproute2's `ip`)
set -euo pipefail

bin="$(cd "${1:-$(dirname "$0")/../build/bin}" && pwd)"
skip() { echo "netns-demo: SKIP: $*" >&2; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces and veth pairs)"
command -v ip >/dev/null || skip "iproute2's 'ip' is not installed"
for b in lexswitch lexnode lexctl; do
  [ -x "$bin/$b" ] || { echo "netns-demo: $bin/$b not built (run ./setup.sh)" >&2; exit 1; }
done

tag="lx$$"
ns_sw="$tag-sw" ns_st="$tag-st" ns_ag="$tag-ag"
work="$(mktemp -d /tmp/lexnetns.XXXXXX)"
pids=()

cleanup() {
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  for ns in "$ns_sw" "$ns_st" "$ns_ag"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the network ---------------------------------------------------------
probe="$tag-probe"
ip netns add "$probe" 2>/dev/null || skip "cannot create a network namespace ('ip netns add' failed: no CAP_NET_ADMIN?)"
ip netns del "$probe"
# the bridge lives in the switch's namespace, so deleting the namespaces
# removes every link even if this script is killed before its trap runs
for ns in "$ns_sw" "$ns_st" "$ns_ag"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip -n "$ns_sw" link add br0 type bridge 2>/dev/null ||
  skip "cannot create a bridge (no bridge support in this kernel?)"
ip -n "$ns_sw" addr add 10.77.0.1/24 dev br0
ip -n "$ns_sw" link set br0 up
n=2
for ns in "$ns_st" "$ns_ag"; do
  ip link add "$tag-h$n" type veth peer name "$tag-n$n" ||
    skip "cannot create a veth pair"
  ip link set "$tag-h$n" netns "$ns_sw"
  ip -n "$ns_sw" link set "$tag-h$n" master br0 up
  ip link set "$tag-n$n" netns "$ns"
  ip -n "$ns" link set "$tag-n$n" name eth0
  ip -n "$ns" addr add "10.77.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  n=$((n + 1))
done
echo "netns-demo: namespaces $ns_sw (10.77.0.1) $ns_st (10.77.0.2) $ns_ag (10.77.0.3)"

# --- keys, directory, rules ----------------------------------------------
cd "$work"
"$bin/lexctl" directory --locals 2 > directory.txt
sheriff="$(grep -m1 '|local|SO|CA|' directory.txt | cut -d'|' -f1)"
reno="$(grep -m1 '|local|PD|NV|' directory.txt | cut -d'|' -f1)"
gen() { "$bin/lexctl" keys gen "$@" | grep '^@key|' >> directory.txt; }
"$bin/lexctl" keys gen national >/dev/null       # server keys: not bound, nodes are
"$bin/lexctl" keys gen nevada >/dev/null
gen nvlink --role switch --bind 'NV*' --broad    # Nevada's switch at the national one
gen nvdmv --role responder --bind NVDMV0000 --states NV        # Nevada's responder
gen dmv --role responder --bind 'CADMV0000 TXDMV0000' --states CA,TX
gen sheriff --role agency --bind "$sheriff"
gen reno --role agency --bind "$reno"
mkdir rules-nv
cat > rules-nv/NV.rules <<'EOF'
rule nv-no-history-out-of-state
  home CA TX
  key KQ
  deny denied
EOF
drivers=2000
lic_nv="$("$bin/lexctl" sample --state NV --count 1 --drivers $drivers | awk 'NR == 2 {print $1}')"
lic_ca="$("$bin/lexctl" sample --state CA --count 1 --drivers $drivers | awk 'NR == 2 {print $1}')"
[ -n "$lic_nv" ] && [ -n "$lic_ca" ] || { echo "netns-demo: cannot read sample licences" >&2; exit 1; }

wait_for() {  # FILE WHAT (the newest process started must stay alive)
  for _ in $(seq 1 200); do
    [ -e "$1" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "netns-demo: FAIL: $2 not ready (see $work/*.log)" >&2; tail -5 "$work"/*.log >&2; exit 1
}
wait_log() {  # FILE TEXT
  for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "netns-demo: FAIL: '$2' not in $1" >&2; tail -5 "$1" >&2; exit 1
}

# --- the national switch, in its own namespace ---------------------------
ip netns exec "$ns_sw" "$bin/lexswitch" --bind-tcp tcp://10.77.0.1:7400 --data nat-data \
  --directory directory.txt --ready-file nat.ready --set curve_key=national.key \
  2> nat.log &
pids+=($!)
wait_for nat.ready "national switch"

# --- the state data centre: Nevada's switch joins; CA and TX connect directly
ip netns exec "$ns_st" "$bin/lexswitch" --bind-tcp tcp://10.77.0.2:7401 --data nv-data \
  --directory directory.txt --rules rules-nv --ready-file nv.ready \
  --set curve_key=nevada.key --set upstream=tcp://10.77.0.1:7400 \
  --set "upstream_serves=NV*" --set upstream_key=nvlink.key \
  --set upstream_switch_key=national.pub 2> nv.log &
pids+=($!)
wait_for nv.ready "Nevada's switch"
wait_log nv.log "joined upstream"
ip netns exec "$ns_st" "$bin/lexnode" state --connect tcp://10.77.0.2:7401 --states NV \
  --drivers $drivers --vehicles $drivers --key-file nvdmv.key --switch-key nevada.pub \
  --ready-file nvdmv.ready 2> nvdmv.log &
pids+=($!)
ip netns exec "$ns_st" "$bin/lexnode" state --connect tcp://10.77.0.1:7400 --states CA,TX \
  --drivers $drivers --vehicles $drivers --key-file dmv.key --switch-key national.pub \
  --ready-file dmv.ready 2> dmv.log &
pids+=($!)
wait_for nvdmv.ready "Nevada's responder"
wait_for dmv.ready "CA and TX responders"

# --- the agency site: queries -------------------------------------------
failures=0
ask() {  # LABEL EXPECT KEY-FILE SWITCH-PUB ENDPOINT ORI DEST KEY FIELD...
  local label="$1" expect="$2" key="$3" pub="$4" ep="$5" ori="$6" dest="$7"
  shift 7
  local out
  out="$(ip netns exec "$ns_ag" "$bin/lexctl" send --connect "$ep" --key-file "$key" \
         --switch-key "$pub" --ori "$ori" --to "$dest" "$@" 2>&1)" || true
  if grep -qE -- "$expect" <<<"$out"; then
    echo "netns-demo: ok   $label"
    [ -z "${LEX_DEMO_VERBOSE:-}" ] || sed 's/^/    /' <<<"$out"
  else
    echo "netns-demo: FAIL $label: expected '$expect', got:" >&2
    sed 's/^/    /' <<<"$out" >&2
    failures=$((failures + 1))
  fi
}
nat=tcp://10.77.0.1:7400
ask "CA sheriff -> national -> CA responder (DQ)" "\"DR\", \"src\": \"CADMV0000\".*$lic_ca" sheriff.key national.pub $nat \
  "$sheriff" CA DQ "lic=$lic_ca"
ask "CA sheriff -> national -> Nevada's switch -> NV responder (DQ)" \
  "\"DR\", \"src\": \"NVDMV0000\".*$lic_nv" sheriff.key \
  national.pub $nat "$sheriff" NV DQ "lic=$lic_nv"
ask "Nevada's rule at Nevada's switch denies CA a driver history (KQ)" \
  "\"code\": 1, \"name\": \"denied\"" sheriff.key \
  national.pub $nat "$sheriff" NV KQ "lic=$lic_nv"
ask "Reno PD -> Nevada's switch -> national -> CA responder (DQ)" \
  "\"DR\", \"src\": \"CADMV0000\".*$lic_ca" reno.key \
  nevada.pub tcp://10.77.0.2:7401 "$reno" CA DQ "lic=$lic_ca"
ask "Reno PD -> Nevada's switch -> NV responder, locally (KQ)" \
  "\"KR\", \"src\": \"NVDMV0000\"" reno.key nevada.pub \
  tcp://10.77.0.2:7401 "$reno" NV KQ "lic=$lic_nv"

# --- stop, then read both audit logs ---------------------------------------
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
for log in nat-data nv-data; do
  if "$bin/lexctl" verify --data "$log" >/dev/null 2>&1; then
    echo "netns-demo: ok   $log audit chain verifies"
  else
    echo "netns-demo: FAIL $log audit chain" >&2; failures=$((failures + 1))
  fi
done
if "$bin/lexctl" audit --data nv-data --key KQ 2>/dev/null | grep -q "nv-no-history-out-of-state"; then
  echo "netns-demo: ok   Nevada's switch logged its rule's denial"
else
  echo "netns-demo: FAIL Nevada's switch's log lacks the denial" >&2; failures=$((failures + 1))
fi
if [ "$failures" -ne 0 ]; then
  echo "netns-demo: $failures check(s) FAILED" >&2
  exit 1
fi
echo "netns-demo: all checks passed"
