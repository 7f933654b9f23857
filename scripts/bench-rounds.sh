#!/usr/bin/env bash
# One sessionlab server under several rounds of load in a row, on one engine's path, without a
# restart between them: how its figures move as its store fills (the file engine's directory
# towards a million files, the db engine's table past a million rows), where bench.sh and
# bench-ab.sh start each server on a fresh data dir. Each round's row also splits the
# machine's CPU time between the server, wrk and every other task (the kernel's threads
# writing session files out to the disk, …) and gives how long the server's threads waited for
# a core, so that a slower round can be told apart: the server's own work growing, or other
# work taking the two cores.
#
# Usage: BENCH_ENGINE=file scripts/bench-rounds.sh            (about a minute a round)
# Environment:
#   BENCH_BIN (a sessionlab binary; default: the release build, made now) BENCH_ENGINE (file;
#   the engines of bench.sh) BENCH_PATH (write: GET /basic/set/ without a cookie; read: GET
#   /basic/get/ with one) BENCH_ROUNDS (4) BENCH_DURATION (10s) BENCH_WARMUP (3s, before the
#   first round) BENCH_DATA_PARENT (where the server's data dir is made: /tmp by default, a
#   tmpfs mount point to measure the store off the disk) BENCH_ACCEPT (application/json)
#   BENCH_MAX_LOAD (0.7) BENCH_REDIS_URL BENCH_POSTGRES_URL BENCH_DROP_CACHES (1 when root)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/services.sh
source scripts/services.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
ENGINE=${BENCH_ENGINE:-file}
PATH_KIND=${BENCH_PATH:-write}
ROUNDS=${BENCH_ROUNDS:-4}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
ACCEPT=${BENCH_ACCEPT:-application/json}
MAX_LOAD=${BENCH_MAX_LOAD:-0.7}
require_session_path "$PATH_KIND"

log() { printf '[rounds %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_workspace rounds "${BENCH_DATA_PARENT:-}"
ensure_wrk
# shellcheck disable=SC2119 # no cargo arguments: the binary alone
sessionlab_binary

# machine_busy_ticks: the CPU time every task of the machine has used so far (user, nice,
# system, irq, softirq and steal time of /proc/stat's first line), in clock ticks.
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# server_wait_ns: how long the server's threads have waited for a core while runnable so far
# (the second field of each thread's schedstat), in nanoseconds; a thread that ended takes its
# count with it.
server_wait_ns() {
  cat "/proc/$SERVER_PID"/task/*/schedstat 2>/dev/null | awk '{s += $2} END {print s + 0}'
}

# store_size: what the server's store holds now: session files, or the db engine's rows.
store_size() {
  case $ENGINE in
    file) echo "$(find "$SERVER_DATA/sessions" -mindepth 1 -maxdepth 1 -printf . | wc -c) files" ;;
    db | cached_db)
      python3 - "$SERVER_DATA/sessions.sqlite3" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(f"{db.execute('SELECT COUNT(*) FROM django_session').fetchone()[0]} rows")
PY
      ;;
    *) echo "-" ;;
  esac
}

if [ "$ENGINE" = file ] && ! on_tmpfs "$DATA_ROOT"; then wait_for_reusable_inodes; fi
START_LOAD=$(wait_for_quiet)
log "load before the run: $START_LOAD; $ENGINE $PATH_KIND, $ROUNDS rounds of $DURATION, one server"
start_sessionlab rounds "$SESSIONLAB" "$ENGINE" "$PATH_KIND" || exit 1
drive_session_path "$WARMUP" >/dev/null

RESULTS="$WORK/results"
TIMEFORMAT='%U %S'
for round in $(seq 1 "$ROUNDS"); do
  server_before=$(cpu_ticks) busy_before=$(machine_busy_ticks) wait_before=$(server_wait_ns)
  { time drive_session_path "$DURATION" >"$WORK/wrk.out"; } 2>"$WORK/wrk.time"
  server_after=$(cpu_ticks) busy_after=$(machine_busy_ticks) wait_after=$(server_wait_ns)
  line=$(<"$WORK/wrk.out")
  read -r wrk_user wrk_system <"$WORK/wrk.time"
  size=$(store_size)
  log "round $round: ${line#BENCH } ($size)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$line" \
    "$((server_after - server_before))" "$((busy_after - busy_before))" \
    "$((wait_after - wait_before))" "$wrk_user" "$wrk_system" "$size" >>"$RESULTS"
done
stop_server

python3 - "$RESULTS" "$CLK_TCK" "$ENGINE" "$PATH_KIND" "$DURATION" "$START_LOAD" \
  "$(dirname "$DATA_ROOT")" <<'PY'
import sys
results, clk_tck, engine, path, duration, load, data_parent = sys.argv[1:]
clk_tck = int(clk_tck)
print(f"{engine} {path}, one server, wrk -t2 -c32 -d{duration} per round, data under "
      f"{data_parent}; 1-minute load before the run: {load}")
print()
print("| round | requests/s | p50 ms | p99 ms | max ms | errors | server CPU s | "
      "server waiting for a core s | wrk CPU s | other tasks' CPU s | store after |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for row in open(results):
    round_, line, server, busy, wait_ns, wrk_user, wrk_system, size = row.rstrip("\n").split("\t")
    f = dict(kv.split("=") for kv in line.split()[1:])
    server_s, busy_s = int(server) / clk_tck, int(busy) / clk_tck
    wrk_s = float(wrk_user) + float(wrk_system)
    other_s = max(busy_s - server_s - wrk_s, 0.0)
    print(f"| {round_} | {float(f['rps']):,.0f} | {int(f['p50_us']) / 1000:.2f} | "
          f"{int(f['p99_us']) / 1000:.2f} | {int(f['max_us']) / 1000:.1f} | {f['errors']} | "
          f"{server_s:.1f} | {int(wait_ns) / 1e9:.1f} | {wrk_s:.1f} | {other_s:.1f} | {size} |")
PY
