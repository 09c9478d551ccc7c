#!/usr/bin/env bash
# Server benchmarks of issue 4 (see bench/README.md): HTTP throughput with wrk, subscribeLabels
# backfill of 1M labels to one client, and 1,000 live subscribers at 1,000 labels/s.
#
#   bench/run_server_bench.sh [all|wrk|backfill|live] ...
#
# Everything listens on 127.0.0.1 only; every load is bounded in count and time. Results go to
# $OUT (default $WORK/results-<date>), one file per step, plus summary.txt.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
LABELER_BIN=${LABELER_BIN:-$ROOT/.build-bench/release/labeler}
WORK=${WORK:-/tmp/labeler-bench}
OUT=${OUT:-$WORK/results-$(date +%Y%m%d-%H%M%S)}
PORT=${PORT:-18480}
EVENTS=${EVENTS:-1111112}          # 1 identity event + 1,000,000 labels + 111,111 context events
WRK_ARGS=${WRK_ARGS:--t2 -c64 -d10s}
WRK_ROUNDS=${WRK_ROUNDS:-3}
BACKFILL_ROUNDS=${BACKFILL_ROUNDS:-3}
BACKFILL_PARALLEL=${BACKFILL_PARALLEL:-4}  # then this many backfills at once (1: skip)
LIVE_SUBS=${LIVE_SUBS:-1000}
LIVE_RATE=${LIVE_RATE:-1000}
LIVE_SECONDS=${LIVE_SECONDS:-30}
LIVE_EMIT_CONNS=${LIVE_EMIT_CONNS:-128}
LIVE_DATA=${LIVE_DATA:-empty}      # empty: a fresh data dir; log1m: a copy of the 1M-label log
DID=did:web:labeler.example.com
URL=http://127.0.0.1:$PORT

mkdir -p "$WORK" "$OUT"
SUMMARY=$OUT/summary.txt
say() { echo "$*" | tee -a "$SUMMARY"; }

[ -x "$LABELER_BIN" ] || { echo "no labeler binary at $LABELER_BIN: swift build -c release --product labeler --scratch-path .build-bench" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
cc -O2 -Wall -o "$WORK/wsclient" "$HERE/wsclient.c"
# Python: the standard library, plus numpy for the latency analysis (a venv under bench/.venv).
PY=python3
if ! python3 -c "import numpy" 2>/dev/null; then
  [ -x "$HERE/.venv/bin/python" ] || { python3 -m venv "$HERE/.venv" && "$HERE/.venv/bin/pip" install -q numpy; }
  PY=$HERE/.venv/bin/python
fi
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID"
  fi
  SERVER_PID=
}
trap stop_server EXIT

# start_server DATA_DIR LOGFILE [KEY_HEX]
start_server() {
  local dir=$1 log=$2 key=${3:-}
  if [ -n "$key" ]; then
    LABELER_SIGNING_KEY=$key LABELER_DID=$DID "$LABELER_BIN" serve --data-dir "$dir" --port "$PORT" --host 127.0.0.1 >"$log" 2>&1 &
  else
    "$LABELER_BIN" serve --data-dir "$dir" --port "$PORT" --host 127.0.0.1 >"$log" 2>&1 &
  fi
  SERVER_PID=$!
  for _ in $(seq 600); do
    curl -fs -m 1 "$URL/xrpc/_health" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited; see $log" >&2; exit 1; }
    sleep 0.5
  done
  echo "server did not answer in 300 s" >&2; exit 1
}

# Waits (up to QUIET_WAIT seconds, default 900) until no compiler or test run is using the machine
# and the 1-minute load average is below 1.2; says what it saw. The machine is shared.
wait_quiet() {
  local waited=0 limit=${QUIET_WAIT:-900}
  while [ $waited -lt $limit ]; do
    local busy; busy=$(pgrep -c -f 'swift-build|swift-frontend|swift-test|clang|xctest|pytest' || true)
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    if [ "$busy" = 0 ] && awk -v l="$load" 'BEGIN{exit !(l < 1.2)}'; then
      [ $waited -gt 0 ] && echo "   (waited ${waited}s for a quiet machine)" | tee -a "$SUMMARY"
      return 0
    fi
    sleep 5; waited=$((waited + 5))
  done
  echo "   (machine still busy after ${limit}s: load $(cut -d' ' -f1 /proc/loadavg); measuring anyway)" | tee -a "$SUMMARY"
}

# CPU accounting around one step: machine-wide busy jiffies, the server's jiffies.
cpu_mark() { echo "$(awk 'NR==1{b=0; for(i=2;i<=NF;i++) if(i!=5 && i!=6) b+=$i; print b}' /proc/stat) $(awk '{print $14+$15}' /proc/"$SERVER_PID"/stat)"; }
cpu_report() {  # cpu_report "MARK0" "MARK1" SECONDS WRK_CPU_S → "machine 190% server 120% wrk 60% other 10%"
  local hz; hz=$(getconf CLK_TCK)
  awk -v a="$1" -v b="$2" -v s="$3" -v w="$4" -v hz="$hz" 'BEGIN{split(a,x," "); split(b,y," ");
    m=(y[1]-x[1])/hz/s*100; sv=(y[2]-x[2])/hz/s*100; wr=w/s*100;
    printf "cpu: machine %.0f%% = server %.0f%% + wrk %.0f%% + other %.0f%% (200%% = both cores)", m, sv, wr, m-sv-wr}'
}

head_seq() { curl -fs "$URL/health" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["head"])'; }
rss() { grep -E "^(VmRSS|RssAnon|RssFile)" /proc/"$SERVER_PID"/status | tr -s ' \t' ' ' | tr '\n' ' '; }

# The 1M-label log, generated once, then opened once by a server so that every read model is
# built; each step below works on a copy of it.
prepare_log() {
  [ -f "$WORK/log1m-built/.ready" ] && return 0
  rm -rf "$WORK/log1m" "$WORK/log1m-built"
  mkdir -p "$WORK/log1m"
  [ -f "$WORK/key.hex" ] || openssl rand -hex 32 >"$WORK/key.hex"
  "$LABELER_BIN" debug generate --data-dir "$WORK/log1m" --events "$EVENTS" --key-hex "$(cat "$WORK/key.hex")" --did "$DID"
  start_server "$WORK/log1m" "$WORK/log1m-build.log" "$(cat "$WORK/key.hex")"
  stop_server
  mv "$WORK/log1m" "$WORK/log1m-built"
  touch "$WORK/log1m-built/.ready"
}

fresh_copy() {  # fresh_copy NAME → path of a copy of the built 1M log
  rm -rf "${WORK:?}/$1"
  cp -r "$WORK/log1m-built" "$WORK/$1"
  echo "$WORK/$1"
}

run_wrk() {
  prepare_log
  local dir; dir=$(fresh_copy srv-wrk)
  start_server "$dir" "$OUT/server-wrk.log" "$(cat "$WORK/key.hex")"
  export LABELER_ADMIN_TOKEN; LABELER_ADMIN_TOKEN=$(cat "$dir/admin-token")
  export QUERY_MAX_CURSOR; QUERY_MAX_CURSOR=$(head_seq)
  say "== wrk $WRK_ARGS against $URL (server pid $SERVER_PID, log head $QUERY_MAX_CURSOR); server at start: $(rss)"
  "$PY" "$HERE/procmon.py" --out "$OUT/wrk-procmon.json" server="$SERVER_PID" &
  local mon=$!
  local r name
  for r in $(seq "$WRK_ROUNDS"); do
    for name in health health_lua query_prefix query_all emit; do
      export BENCH_RUN="r$r-$$"
      local f="$OUT/wrk-r$r-$name.txt" m0 m1 t0 t1
      wait_quiet
      m0=$(cpu_mark); t0=$(date +%s.%N)
      case $name in
        health) /usr/bin/time -f "wrk-cpu %U %S" wrk $WRK_ARGS "$URL/xrpc/_health" >"$f" 2>&1 ;;
        health_lua) /usr/bin/time -f "wrk-cpu %U %S" wrk $WRK_ARGS -s "$HERE/wrk/health.lua" "$URL/xrpc/_health" >"$f" 2>&1 ;;
        *) /usr/bin/time -f "wrk-cpu %U %S" wrk $WRK_ARGS -s "$HERE/wrk/$name.lua" "$URL/" >"$f" 2>&1 ;;
      esac
      m1=$(cpu_mark); t1=$(date +%s.%N)
      local wcpu; wcpu=$(awk '/^wrk-cpu/{print $2+$3}' "$f")
      echo "$(date +%T) round $r $name: $(grep Requests/sec "$f") $(grep -E 'Non-2xx|Socket errors' "$f" | tr '\n' ' ') $(cpu_report "$m0" "$m1" "$(echo "$t1 - $t0" | bc)" "$wcpu") load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$SUMMARY"
      sleep 2
    done
    say "   server after round $r: $(rss)"
  done
  kill -TERM $mon; wait $mon || true
  stop_server
  "$PY" - "$OUT" "$WRK_ROUNDS" <<'EOF' | tee -a "$SUMMARY"
import re, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def rps(r, n):
    return float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{out}/wrk-r{r}-{n}.txt").read()).group(1))
print("round | health | health (lua) | query prefix | query * | emit | prefix/health | */health | emit/health | prefix/health-lua | */health-lua | emit/health-lua")
for r in range(1, rounds + 1):
    h, hl, qp, qa, e = (rps(r, n) for n in ("health", "health_lua", "query_prefix", "query_all", "emit"))
    print(f"{r} | {h:.0f} | {hl:.0f} | {qp:.0f} | {qa:.0f} | {e:.0f} | {qp/h:.1%} | {qa/h:.1%} | {e/h:.1%} | {qp/hl:.1%} | {qa/hl:.1%} | {e/hl:.1%}")
EOF
  say "   server during wrk: $(tr -d '\n' <"$OUT/wrk-procmon.json")"
  say "   server log warnings/errors: $(grep -ciE 'error|warning|critical' "$OUT/server-wrk.log" || true)"
}

run_backfill() {
  prepare_log
  local dir; dir=$(fresh_copy srv-backfill)
  start_server "$dir" "$OUT/server-backfill.log" "$(cat "$WORK/key.hex")"
  local head; head=$(head_seq)
  say "== backfill: subscribeLabels?cursor=0 to one client, until seq $head (server pid $SERVER_PID); server at start: $(rss)"
  local r
  for r in $(seq "$BACKFILL_ROUNDS"); do
    wait_quiet
    "$PY" "$HERE/procmon.py" --out "$OUT/backfill-r$r-procmon.json" server="$SERVER_PID" &
    local mon=$!
    "$WORK/wsclient" backfill 127.0.0.1 "$PORT" 0 "$head" >"$OUT/backfill-r$r.json" 2>"$OUT/backfill-r$r.stderr"
    kill -TERM $mon; wait $mon || true
    say "   round $r: $(cat "$OUT/backfill-r$r.json")"
    say "   server: $(tr -d '\n' <"$OUT/backfill-r$r-procmon.json")"
    sleep 2
  done
  sed -n '1,20p' "$OUT/backfill-r$BACKFILL_ROUNDS.stderr" | tee -a "$SUMMARY"
  # Other requests during a backfill: 8 /xrpc/_health requests, each on a new connection,
  # started 0.5 s into one more backfill (time_total of each, in seconds).
  wait_quiet
  "$WORK/wsclient" backfill 127.0.0.1 "$PORT" 0 "$head" >"$OUT/backfill-probe.json" 2>/dev/null &
  local bf=$! probes=() i
  sleep 0.5
  for i in $(seq 8); do
    curl -s -o /dev/null -m 60 -w "%{time_total}" "$URL/xrpc/_health" >"$OUT/backfill-probe-$i.txt" &
    probes+=($!); sleep 0.05
  done
  wait "${probes[@]}" $bf || true
  say "   /xrpc/_health during a backfill, seconds: $(for i in $(seq 8); do printf '%s ' "$(cat "$OUT/backfill-probe-$i.txt")"; done)(backfill: $(cut -c1-120 "$OUT/backfill-probe.json")…)"
  say "   server after: $(rss)"
  stop_server
  # Several backfills at once, on a fresh server: aggregate rate and the server's memory.
  if [ "$BACKFILL_PARALLEL" -gt 1 ]; then
    dir=$(fresh_copy srv-backfill)
    start_server "$dir" "$OUT/server-backfill-parallel.log" "$(cat "$WORK/key.hex")"
    say "== $BACKFILL_PARALLEL backfills at once (fresh server pid $SERVER_PID); server at start: $(rss)"
    wait_quiet
    "$PY" "$HERE/procmon.py" --out "$OUT/backfill-parallel-procmon.json" --interval 0.1 server="$SERVER_PID" &
    local mon=$! pids=() c
    for c in $(seq "$BACKFILL_PARALLEL"); do
      "$WORK/wsclient" backfill 127.0.0.1 "$PORT" 0 "$head" >"$OUT/backfill-parallel-$c.json" 2>/dev/null &
      pids+=($!)
    done
    wait "${pids[@]}" || true
    kill -TERM $mon; wait $mon || true
    for c in $(seq "$BACKFILL_PARALLEL"); do say "   client $c: $(cat "$OUT/backfill-parallel-$c.json")"; done
    say "   server: $(tr -d '\n' <"$OUT/backfill-parallel-procmon.json")"
    stop_server
  fi
}

run_live() {
  local dir key=
  if [ "$LIVE_DATA" = log1m ]; then
    prepare_log; dir=$(fresh_copy srv-live); key=$(cat "$WORK/key.hex")
  else
    dir=$WORK/srv-live-empty; rm -rf "$dir"; mkdir -p "$dir"
  fi
  start_server "$dir" "$OUT/server-live.log" $key
  local head count; head=$(head_seq); count=$((LIVE_RATE * LIVE_SECONDS))
  say "== live: $LIVE_SUBS subscribers (no cursor), $count labels at $LIVE_RATE/s over $LIVE_EMIT_CONNS connections, data $LIVE_DATA (server pid $SERVER_PID, head $head); server at start: $(rss)"
  local fifo=$OUT/live-client.out
  "$WORK/wsclient" live 127.0.0.1 "$PORT" "$LIVE_SUBS" $((head + 1)) "$count" "$OUT/live-recv.bin" $((LIVE_SECONDS * 3 + 120)) >"$fifo" 2>"$OUT/live-client.stderr" &
  local client=$!
  for _ in $(seq 600); do grep -q ready "$fifo" && break; kill -0 $client || { cat "$OUT/live-client.stderr"; exit 1; }; sleep 0.1; done
  say "   subscribers connected; server: $(rss)"
  wait_quiet
  "$PY" "$HERE/procmon.py" --out "$OUT/live-procmon.json" server="$SERVER_PID" client=$client &
  local mon=$!
  "$PY" "$HERE/emitter.py" --port "$PORT" --token "$(cat "$dir/admin-token")" --rate "$LIVE_RATE" --count "$count" \
    --conns "$LIVE_EMIT_CONNS" --max-seconds $((LIVE_SECONDS * 3)) --run "live$$" --out "$OUT/live-emits.csv" >"$OUT/live-emitter.json" &
  local emitter=$!
  "$PY" "$HERE/procmon.py" --out "$OUT/live-emitter-procmon.json" emitter=$emitter &
  local mon2=$!
  wait $emitter
  wait $mon2 || true
  say "   emitter: $(cat "$OUT/live-emitter.json")"
  say "   server right after the last emit: $(rss)"
  # Let the subscribers drain for up to 30 s, then stop the client (it writes what it has).
  for _ in $(seq 300); do kill -0 $client 2>/dev/null || break; sleep 0.1; done
  kill -TERM $client 2>/dev/null || true
  wait $client || true
  kill -TERM $mon; wait $mon || true
  say "   client: $(tail -1 "$fifo")"
  say "   processes: $(tr -d '\n' <"$OUT/live-procmon.json")"
  "$PY" "$HERE/live_analyze.py" "$OUT/live-emits.csv" "$OUT/live-recv.bin" | tee "$OUT/live-analysis.json" >>"$SUMMARY"
  cat "$OUT/live-analysis.json"
  say "   server after the run: $(rss)"
  say "   server log warnings/errors: $(grep -ciE 'error|warning|critical' "$OUT/server-live.log" || true)"
  stop_server
  rm -f "$OUT/live-recv.bin"  # large (LIVE_RATE × LIVE_SECONDS × LIVE_SUBS × 8 bytes); the analysis is kept
}

say "labeler server benchmarks: $(date -Is), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), binary $LABELER_BIN"
if [ -f "${LABELER_BIN%/release/labeler}/COMMIT" ]; then say "binary built from commit $(cat "${LABELER_BIN%/release/labeler}/COMMIT") (bench/build_snapshot.sh)"
else say "binary: built from the working tree of $ROOT at or after commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"; fi
case ${1:-all} in
  all) run_wrk; run_backfill; run_live ;;
  wrk) run_wrk ;;
  backfill) run_backfill ;;
  live) run_live ;;
  *) echo "usage: $0 [all|wrk|backfill|live]" >&2; exit 2 ;;
esac
say "results in $OUT"
