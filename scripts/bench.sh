#!/usr/bin/env bash
# HTTP benchmarks of sessionlab's engines, with peers side by side in the same run.
#
# Builds the release binary, then for each engine starts `sessionlab serve` on a free loopback
# port with a private temp data dir (and a private Redis key prefix), and drives it with wrk:
#   read     GET /basic/get/ with the cookie /basic/set/ gave   (load + render, no save)
#   write    GET /basic/set/ without a cookie                     (a new session per request)
#   baseline GET /healthz on the same server                      (no session)
# Each figure is the median of BENCH_ROUNDS rounds of `wrk -t2 -c32 -d10s` after a 3 s warm-up.
# The peers (benches/peers: actix-session cookie and Redis stores, axum + tower-sessions memory
# store; benches/django: Django 5.2 under gunicorn with 2 sync workers on db, Redis cache and
# signed_cookies, tuned to the session middleware alone with WAL; django-db-startproject is the
# db engine with the settings `django-admin startproject` writes, as the tutorials run it;
# django-postgres the db engine on PostgreSQL, as sessionlab's postgres engine) serve the same
# /set/ and /get/ and are measured the same way. The postgres engine and peer each get a fresh
# schema of their own in BENCH_POSTGRES_URL's database, dropped at the end.
#
# Usage: scripts/bench.sh            (everything; about 30 minutes)
# Environment:
#   BENCH_ENGINES  sessionlab engines (default: "db file memory redis cached_db signed_cookies
#                  postgres"; postgres is the db engine on PostgreSQL; cached_db_memory, not in
#                  the default list, is cached_db in front of the in-process cache)
#   BENCH_PEERS    peers (default: "actix-cookie actix-redis axum-memory django-db
#                  django-db-startproject django-cache django-signed_cookies django-postgres";
#                  empty for none)
#   BENCH_ROUNDS (3) BENCH_DURATION (10s) BENCH_WARMUP (3s) BENCH_CONNECTIONS (32)
#   BENCH_THREADS (2) BENCH_ACCEPT (application/json: sessionlab's JSON answers; text/html for
#   the lesson pages) BENCH_MAX_LOAD (0.7) BENCH_REDIS_URL (redis://127.0.0.1:6379/0)
#   BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test)
#   BENCH_RESULTS (file to append the markdown table to), BENCH_BIN (a sessionlab binary to
#   measure instead of building one), BENCH_COMPARE_BIN + BENCH_COMPARE_ENGINES +
#   BENCH_COMPARE_LABEL (another build, e.g. before a change, measured right after each of
#   those engines in the same run; its rows read `engine@label`), BENCH_PEER_ALLOCATOR
#   (mimalloc, as sessionlab's binary; system for the peers on glibc's malloc), BENCH_PGO (1:
#   sessionlab, unless BENCH_BIN, and the Rust peers built with profile-guided optimisation by
#   scripts/build-pgo.sh), BENCH_PEER_BIN (a peers binary built before, used as it is),
#   CARGO_TARGET_DIR, BENCH_VENV (default: $CARGO_TARGET_DIR/bench-venv),
#   BENCH_DROP_CACHES (1 when run as root: each server starts on dropped kernel caches; 0 to
#   keep them). A before/after comparison on one engine: scripts/bench-ab.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/services.sh
source scripts/services.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

ENGINES=${BENCH_ENGINES-db file memory redis cached_db signed_cookies postgres}
PEERS=${BENCH_PEERS-actix-cookie actix-redis axum-memory django-db django-db-startproject django-cache django-signed_cookies django-postgres}
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
ACCEPT=${BENCH_ACCEPT:-application/json}
MAX_LOAD=${BENCH_MAX_LOAD:-0.7}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=${BENCH_VENV:-$TARGET/bench-venv}

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_workspace bench
RAW="$WORK/rounds.tsv"

# --- tools ---------------------------------------------------------------------------------
ensure_wrk

# With the example bench-scale.sh uses, so both scripts share one build.
sessionlab_binary --example memory_footprint

for peer in $PEERS; do
  case $peer in
    actix-*|axum-*) NEED_RUST_PEERS=1 ;;
    django-*) NEED_DJANGO=1 ;;
  esac
done
if [ -n "${NEED_RUST_PEERS:-}" ]; then
  build_peers
fi
if [ -n "${NEED_DJANGO:-}" ]; then
  if ! "$VENV/bin/python" -c 'import django, gunicorn, psycopg, redis, sys; sys.exit(django.VERSION[:2] != (5, 2))' 2>/dev/null; then
    log "creating the Django venv at $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      'Django>=5.2,<5.3' 'gunicorn>=23,<24' 'redis>=5,<7' 'psycopg[binary]>=3.2,<4'
  fi
fi

# --- helpers -------------------------------------------------------------------------------

# measure KIND ENGINE PATHNAME URL [COOKIE]: warm-up, then ROUNDS rounds, one line each in RAW.
measure() {
  local kind=$1 engine=$2 pathname=$3 url=$4 cookie=${5:-}
  route_answers "$engine" "$pathname" "$url" "$cookie" || return 0
  BENCH_COOKIE=$cookie BENCH_ACCEPT=$ACCEPT \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s scripts/bench.lua "$url" >/dev/null
  local round before after line
  for round in $(seq 1 "$ROUNDS"); do
    before=$(cpu_ticks)
    line=$(BENCH_COOKIE=$cookie BENCH_ACCEPT=$ACCEPT \
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s scripts/bench.lua "$url" | grep '^BENCH ' || true)
    after=$(cpu_ticks)
    if [ -z "$line" ]; then
      log "$engine $pathname round $round: wrk printed no result; round dropped"
      continue
    fi
    printf '%s\t%s\t%s\t%s\t%s\tcpu_ticks=%s rss_kb=%s clk_tck=%s load=%s\n' \
      "$kind" "$engine" "$pathname" "$round" "$line" "$((after - before))" "$(rss_kb)" \
      "$CLK_TCK" "$(cut -d' ' -f1 /proc/loadavg)" >>"$RAW"
    log "$engine $pathname round $round: ${line#BENCH }"
  done
}

# bench_server KIND ENGINE PORT SET_PATH GET_PATH: the three paths of a running server.
bench_server() {
  local kind=$1 engine=$2 port=$3 set_path=$4 get_path=$5 cookie
  local base="http://127.0.0.1:$port"
  measure "$kind" "$engine" baseline "$base/healthz"
  cookie=$(cookies_from "$base$set_path")
  measure "$kind" "$engine" read "$base$get_path" "$cookie"
  measure "$kind" "$engine" write "$base$set_path"
}

# run_sessionlab ENGINE [BINARY LABEL]: one engine of one build.
run_sessionlab() {
  local engine=$1 binary=${2:-$SESSIONLAB} label=${3:-$1} port data
  port=$(free_port)
  data="$WORK/sessionlab-$label"
  mkdir -p "$data/sessions"
  local env_lines
  local -a env
  if ! env_lines=$(sessionlab_env "$engine" "$port" "$data"); then
    log "unknown engine $engine"
    return 0
  fi
  mapfile -t env <<<"$env_lines"
  if [ "$engine" = postgres ]; then fresh_postgres_schema; fi
  if [ "$engine" = file ]; then wait_for_reusable_inodes; fi
  start_server "sessionlab-$label" "$port" env "${env[@]}" "$binary" serve || return 0
  bench_server sessionlab "$label" "$port" /basic/set/ /basic/get/
  stop_server
  # The file engine leaves hundreds of thousands of files: they are kept until the run ends
  # (bench_cleanup), since deleting them would slow the next file-engine server's new files
  # for minutes (wait_for_reusable_inodes).
}

run_peer() {
  local peer=$1 port
  port=$(free_port)
  case $peer in
    actix-* | axum-*) start_rust_peer "$peer" "$peer" "$port" || return 0 ;;
    django-*)
      local engine=${peer#django-} profile=tuned db="$WORK/django-$peer.sqlite3"
      case $engine in
        db-startproject) engine=db profile=startproject ;;
        postgres) fresh_postgres_schema ;;
      esac
      local -a env=(DJANGO_SETTINGS_MODULE=benchsite BENCH_DJANGO_ENGINE="$engine"
        BENCH_DJANGO_PROFILE="$profile" BENCH_DJANGO_DB="$db" BENCH_REDIS_URL="$REDIS_URL"
        BENCH_REDIS_PREFIX="${REDIS_PREFIX}django" BENCH_POSTGRES_URL="$POSTGRES_URL"
        BENCH_POSTGRES_SCHEMA="$PG_SCHEMA")
      # Every installed app: the sessions app alone when tuned, startproject's six otherwise.
      env "${env[@]}" PYTHONPATH="$ROOT/benches/django" "$VENV/bin/python" -m django migrate \
        --verbosity 0
      start_server "$peer" "$port" env "${env[@]}" "$VENV/bin/gunicorn" \
        --chdir "$ROOT/benches/django" --workers 2 --worker-class sync \
        --bind "127.0.0.1:$port" --log-level warning benchsite:application || return 0
      ;;
    *) log "unknown peer $peer"; return 0 ;;
  esac
  bench_server peer "$peer" "$port" /set/ /get/
  stop_server
}

# --- the run -------------------------------------------------------------------------------
START_LOAD=$(wait_for_quiet)
log "load before the run: $START_LOAD"
for engine in $ENGINES; do
  case $engine in
    redis | cached_db) redis_up || { log "note: Redis is down at $REDIS_URL; skipping $engine"; continue; } ;;
    postgres) postgres_up || { log "note: PostgreSQL is down at $POSTGRES_URL; skipping $engine"; continue; } ;;
  esac
  log "sessionlab engine $engine"
  run_sessionlab "$engine"
  if [ -n "${BENCH_COMPARE_BIN:-}" ] && [[ " ${BENCH_COMPARE_ENGINES:-$ENGINES} " == *" $engine "* ]]; then
    log "sessionlab engine $engine, build $BENCH_COMPARE_BIN"
    run_sessionlab "$engine" "$BENCH_COMPARE_BIN" "$engine@${BENCH_COMPARE_LABEL:-compared}"
  fi
done
for peer in $PEERS; do
  case $peer in
    actix-redis | django-cache) redis_up || { log "note: Redis is down; skipping $peer"; continue; } ;;
    django-postgres) postgres_up || { log "note: PostgreSQL is down; skipping $peer"; continue; } ;;
  esac
  log "peer $peer"
  run_peer "$peer"
done

COMMAND="${BENCH_BIN:+BENCH_BIN=$BENCH_BIN }${BENCH_PGO:+BENCH_PGO=$BENCH_PGO }${BENCH_PEER_BIN:+BENCH_PEER_BIN=$BENCH_PEER_BIN }${BENCH_MAX_LOAD:+BENCH_MAX_LOAD=$BENCH_MAX_LOAD }${BENCH_PEER_ALLOCATOR:+BENCH_PEER_ALLOCATOR=$BENCH_PEER_ALLOCATOR }${BENCH_COMPARE_BIN:+BENCH_COMPARE_BIN=$BENCH_COMPARE_BIN BENCH_COMPARE_ENGINES=\"${BENCH_COMPARE_ENGINES:-$ENGINES}\" BENCH_COMPARE_LABEL=${BENCH_COMPARE_LABEL:-compared} }BENCH_ENGINES=\"$ENGINES\" BENCH_PEERS=\"$PEERS\" BENCH_ROUNDS=$ROUNDS BENCH_ACCEPT=$ACCEPT scripts/bench.sh"
TABLE=$(python3 - "$RAW" "$START_LOAD" "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$ROUNDS" "$COMMAND" <<'PY'
import collections, statistics, sys

raw, start_load, threads, conns, duration, warmup, rounds, command = sys.argv[1:]
rows = collections.OrderedDict()
for line in open(raw):
    kind, engine, path, _round, bench, extra = line.rstrip("\n").split("\t")
    fields = dict(kv.split("=") for kv in (bench.split()[1:] + extra.split()))
    rows.setdefault((kind, engine, path), []).append(fields)

def med(values):
    return statistics.median(values)

print(f"`{command}` — wrk -t{threads} -c{conns} -d{duration} after a {warmup} warm-up, "
      f"median of {rounds} rounds; 1-minute load before the run: {start_load}.")
print()
print("| engine | path | requests/s | p50 ms | p99 ms | errors | server RSS MB | server CPU s / 1000 req | × baseline | load |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
baseline = {}
for (kind, engine, path), rs in rows.items():
    rps = med([float(r["rps"]) for r in rs])
    if path == "baseline":
        baseline[(kind, engine)] = rps
for (kind, engine, path), rs in rows.items():
    rps = med([float(r["rps"]) for r in rs])
    p50 = med([int(r["p50_us"]) for r in rs]) / 1000
    p99 = med([int(r["p99_us"]) for r in rs]) / 1000
    errors = sum(int(r["errors"]) for r in rs)
    rss = med([int(r["rss_kb"]) for r in rs]) / 1024
    cpu = med([int(r["cpu_ticks"]) / int(r["clk_tck"]) / int(r["requests"]) * 1000 for r in rs])
    base = baseline.get((kind, engine))
    ratio = f"{rps / base:.2f}" if base else "—"
    loads = "/".join(r["load"] for r in rs)
    name = f"{engine} (peer)" if kind == "peer" else engine
    print(f"| {name} | {path} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {errors} | {rss:.1f} | {cpu:.3f} | {ratio} | {loads} |")
PY
)
echo
echo "$TABLE"
if [ -n "${BENCH_RESULTS:-}" ]; then
  { echo; echo "$TABLE"; } >>"$BENCH_RESULTS"
fi
