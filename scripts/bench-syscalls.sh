#!/usr/bin/env bash
# System calls per request, a figure the machine's load hardly moves: each engine's read and
# write paths (as scripts/bench.sh drives them) under `wrk -t2 -c32`, with `perf stat`
# counting the server's system calls, its `futex` and `fcntl` calls among them, and its
# context switches for the length of the run; each count divided by the requests wrk
# completed. One server per row, on a fresh data dir, after a warm-up.
#
# Usage: scripts/bench-syscalls.sh     (every engine; about 2 minutes)
# Environment:
#   BENCH_ENGINES (default: "db file memory redis cached_db signed_cookies"; postgres too)
#   BENCH_PATHS (default: "read write") BENCH_WARMUP (2s) BENCH_DURATION (4s)
#   BENCH_ACCEPT (application/json) BENCH_REDIS_URL BENCH_POSTGRES_URL BENCH_BIN (a
#   sessionlab binary to measure instead of building one) CARGO_TARGET_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/services.sh
source scripts/services.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

ENGINES=${BENCH_ENGINES:-db file memory redis cached_db signed_cookies}
PATHS=${BENCH_PATHS:-read write}
WARMUP=${BENCH_WARMUP:-2s}
DURATION=${BENCH_DURATION:-4s}
ACCEPT=${BENCH_ACCEPT:-application/json}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
EVENTS=(raw_syscalls:sys_enter syscalls:sys_enter_futex syscalls:sys_enter_fcntl context-switches)

log() { printf '[syscalls %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_workspace syscalls
ensure_wrk
command -v perf >/dev/null || apt_install linux-perf
case " $ENGINES " in *" redis "* | *" cached_db "*) ensure_redis ;; esac
case " $ENGINES " in *" postgres "*) ensure_postgres ;; esac

# shellcheck disable=SC2119 # no cargo arguments: the binary alone
sessionlab_binary

# row ENGINE PATHNAME: one server, one counted wrk run; prints the row.
row() {
  local engine=$1 pathname=$2 requests counts
  local -a perf_events=()
  start_sessionlab "$engine-$pathname" "$SESSIONLAB" "$engine" "$pathname" || return 1
  drive_session_path "$WARMUP" >/dev/null
  for event in "${EVENTS[@]}"; do perf_events+=(-e "$event"); done
  # perf counts for as long as its `sleep`: wrk's run and a moment either side.
  perf stat -x, "${perf_events[@]}" -p "$SERVER_PID" -o "$WORK/perf" -- \
    sleep "$(("${DURATION%s}" + 1))" &
  local perf_pid=$!
  sleep 0.3
  requests=$(drive_session_path "$DURATION" | sed -n 's/.* requests=\([0-9]*\).*/\1/p')
  wait "$perf_pid"
  stop_server
  counts=$(awk -F, '!/^#/ && NF > 2 {printf "%s ", $1}' "$WORK/perf")
  # shellcheck disable=SC2086 # the four counts, as four arguments
  python3 - "$engine" "$pathname" "$requests" $counts <<'PY'
import sys
engine, path, requests, *counts = sys.argv[1:]
calls, futex, fcntl, switches = (int(c) / int(requests) for c in counts)
print(f"| {engine} | {path} | {int(requests):,} | {calls:.2f} | {futex:.2f} | {fcntl:.2f} | {switches:.2f} |")
PY
}

echo "| engine | path | requests | system calls / request | futex / request | fcntl / request | context switches / request |"
echo "|---|---|---:|---:|---:|---:|---:|"
for engine in $ENGINES; do
  if [ "$engine" = file ]; then wait_for_reusable_inodes; fi
  for pathname in $PATHS; do
    row "$engine" "$pathname" || log "$engine $pathname: skipped (the server or its route failed)"
  done
done
