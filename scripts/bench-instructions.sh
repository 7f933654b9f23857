#!/usr/bin/env bash
# Instructions per request, the figure that does not move with the machine's load: each
# engine's three paths (as scripts/bench.sh drives them: baseline GET /healthz, read GET
# /basic/get/ with a cookie, write GET /basic/set/ without one) and the Rust peers', with the
# server under `valgrind --tool=callgrind` and one worker. Per path: `wrk -c4` for a warm-up,
# the counters zeroed (`callgrind_control -z`), `wrk -c4` again, the counters dumped; the
# instructions of the dump divided by the requests wrk completed. Under valgrind sha2 does not
# see the CPU's SHA extensions (about 7,000 instructions per HMAC in software), and the write
# paths include the SQLite writer's or the file system's work at this low concurrency.
#
# Usage: scripts/bench-instructions.sh     (every engine and peer; about 10 minutes)
# Environment:
#   BENCH_ENGINES (default: "db file memory redis cached_db signed_cookies")
#   BENCH_PEERS (default: "actix-cookie actix-redis axum-memory"; empty for none)
#   BENCH_PATHS (default: "baseline read write") BENCH_WARMUP (2s) BENCH_DURATION (6s)
#   BENCH_CONNECTIONS (4) BENCH_ACCEPT (application/json) BENCH_REDIS_URL
#   (redis://127.0.0.1:6379/0) BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test;
#   the postgres engine, not in the default list, runs in a schema of its own there)
#   BENCH_TOP (0: how many functions, by inclusive count, to list after each row), BENCH_BIN
#   (a sessionlab binary to measure instead of building one), BENCH_COMPARE_BIN +
#   BENCH_COMPARE_LABEL (another build, measured after each engine; its rows read
#   `engine@label`), BENCH_RESULTS (file to append the table to), BENCH_DUMPS (a folder to keep
#   each row's callgrind file in, as ENGINE-PATH.callgrind), BENCH_PEER_ALLOCATOR (mimalloc, as
#   sessionlab's binary; system for the peers on glibc's malloc), BENCH_PGO (1: sessionlab,
#   unless BENCH_BIN, and the peers built by scripts/build-pgo.sh), BENCH_PEER_BIN (a peers
#   binary built before, used as it is), CARGO_TARGET_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/services.sh
source scripts/services.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

ENGINES=${BENCH_ENGINES-db file memory redis cached_db signed_cookies}
PEERS=${BENCH_PEERS-actix-cookie actix-redis axum-memory}
PATHS=${BENCH_PATHS:-baseline read write}
WARMUP=${BENCH_WARMUP:-2s}
DURATION=${BENCH_DURATION:-6s}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
ACCEPT=${BENCH_ACCEPT:-application/json}
TOP=${BENCH_TOP:-0}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
START_TIMEOUT=120 # valgrind starts a server in seconds, not milliseconds

log() { printf '[instructions %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_workspace instructions
ROWS="$WORK/rows.md"

ensure_wrk
command -v valgrind >/dev/null || apt_install valgrind

# shellcheck disable=SC2119 # no cargo arguments: the binary alone
sessionlab_binary
if [ -n "$PEERS" ]; then
  build_peers
fi

# count NAME PATHNAME URL [COOKIE]: one row of the table, for the server running now.
count() {
  local name=$1 pathname=$2 url=$3 cookie=${4:-} line requests dump instructions
  route_answers "$name" "$pathname" "$url" "$cookie" || return 0
  BENCH_COOKIE=$cookie BENCH_ACCEPT=$ACCEPT \
    wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -s scripts/bench.lua "$url" >/dev/null
  callgrind_control -z "$SERVER_PID" >/dev/null
  line=$(BENCH_COOKIE=$cookie BENCH_ACCEPT=$ACCEPT \
    wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s scripts/bench.lua "$url" | grep '^BENCH ')
  callgrind_control -d "$SERVER_PID" >/dev/null
  requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
  if ! grep -q ' errors=0 ' <<<"$line"; then
    log "$name $pathname: wrk counted errors ($line); row dropped"
    return 0
  fi
  # shellcheck disable=SC2012 # callgrind.PID.N: plain names, the newest wanted
  dump=$(ls -t "$WORK/callgrind.$SERVER_PID".* | head -n 1)
  instructions=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$dump")
  printf '| %s | %s | %s | %s |\n' "$name" "$pathname" "$requests" \
    "$(python3 -c "print(f'{$instructions / $requests:,.0f}')")" >>"$ROWS"
  log "$name $pathname: $requests requests, $((instructions / requests)) instructions each"
  if [ "$TOP" -gt 0 ]; then
    # awk reads to the end: `head` would close the pipe early, and under pipefail the
    # writer's SIGPIPE would end the whole script.
    callgrind_annotate --inclusive=yes "$dump" 2>/dev/null |
      awk -v top="$TOP" '/^ *[0-9,]+ / && shown < top { print; shown++ }' >&2
  fi
  if [ -n "${BENCH_DUMPS:-}" ]; then
    mkdir -p "$BENCH_DUMPS"
    mv "$dump" "$BENCH_DUMPS/${name%% *}-$pathname.callgrind" # for callgrind_annotate / kcachegrind
  else
    rm -f "$dump"
  fi
}

# count_server NAME PORT SET_PATH GET_PATH: every path of PATHS on the running server.
count_server() {
  local name=$1 port=$2 set_path=$3 get_path=$4 base="http://127.0.0.1:$2" cookie
  for pathname in $PATHS; do
    case $pathname in
      baseline) count "$name" baseline "$base/healthz" ;;
      read)
        cookie=$(cookies_from "$base$set_path")
        count "$name" read "$base$get_path" "$cookie"
        ;;
      write) count "$name" write "$base$set_path" ;;
    esac
  done
}

# The server under test runs under callgrind (its environment set outside, so valgrind runs
# the server itself, not `env`).
CALLGRIND=(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.%p")

run_sessionlab() {
  local engine=$1 binary=$2 label=$3 port data env_lines
  local -a env
  port=$(free_port)
  data="$WORK/sessionlab-$label"
  mkdir -p "$data/sessions"
  if ! env_lines=$(sessionlab_env "$engine" "$port" "$data"); then
    log "unknown engine $engine"
    return 0
  fi
  mapfile -t env <<<"$env_lines"
  env+=(APP__SERVER__WORKERS=1)
  if [ "$engine" = postgres ]; then
    fresh_postgres_schema
  fi
  start_server "sessionlab-$label" "$port" env "${env[@]}" "${CALLGRIND[@]}" "$binary" serve ||
    return 0
  count_server "$label" "$port" /basic/set/ /basic/get/
  stop_server
  rm -rf "$data"
}

run_peer() {
  local peer=$1 port
  port=$(free_port)
  start_rust_peer "$peer" "$peer" "$port" "${CALLGRIND[@]}" || return 0
  count_server "$peer (peer)" "$port" /set/ /get/
  stop_server
}

for engine in $ENGINES; do
  case $engine in
    redis | cached_db) redis_up || { log "note: Redis is down at $REDIS_URL; skipping $engine"; continue; } ;;
  esac
  log "sessionlab engine $engine"
  run_sessionlab "$engine" "$SESSIONLAB" "$engine"
  if [ -n "${BENCH_COMPARE_BIN:-}" ]; then
    run_sessionlab "$engine" "$BENCH_COMPARE_BIN" "$engine@${BENCH_COMPARE_LABEL:-compared}"
  fi
done
for peer in $PEERS; do
  if [ "$peer" = actix-redis ] && ! redis_up; then
    log "note: Redis is down; skipping $peer"
    continue
  fi
  log "peer $peer"
  run_peer "$peer"
done

COMMAND="${BENCH_BIN:+BENCH_BIN=$BENCH_BIN }${BENCH_PEER_ALLOCATOR:+BENCH_PEER_ALLOCATOR=$BENCH_PEER_ALLOCATOR }${BENCH_COMPARE_BIN:+BENCH_COMPARE_BIN=$BENCH_COMPARE_BIN BENCH_COMPARE_LABEL=${BENCH_COMPARE_LABEL:-compared} }BENCH_ENGINES=\"$ENGINES\" BENCH_PEERS=\"$PEERS\" BENCH_PATHS=\"$PATHS\" scripts/bench-instructions.sh"
TABLE=$(
  echo "\`$COMMAND\` — callgrind, one worker, wrk -t1 -c$CONNECTIONS: $WARMUP warm-up, then $DURATION counted."
  echo
  echo "| engine | path | requests | instructions / request |"
  echo "|---|---|---:|---:|"
  cat "$ROWS" 2>/dev/null || true
)
echo
echo "$TABLE"
if [ -n "${BENCH_RESULTS:-}" ]; then
  { echo; echo "$TABLE"; } >>"$BENCH_RESULTS"
fi
