# shellcheck shell=bash
# Shell helpers (sourced, not run) shared by the benchmark scripts: building the peers and
# sessionlab, starting and stopping one server under test on a session path (sessionlab on an
# engine: start_sessionlab; a Rust peer: start_peer), checking a route before it is measured,
# reading the cookies a URL sets, and the environment that selects a sessionlab engine. The
# caller sets ROOT, TARGET and ACCEPT, defines `log`, and calls `bench_workspace` before
# starting a server.

# The services the benchmarks use, and the clock ticks a second of /proc's CPU times.
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/0}
POSTGRES_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
# shellcheck disable=SC2034 # read by the scripts that source this file
CLK_TCK=$(getconf CLK_TCK)

# require_session_path PATH_KIND: exits (status 2) unless PATH_KIND is a path start_sessionlab
# drives: write (GET /basic/set/ without a cookie) or read (GET /basic/get/ with one).
require_session_path() {
  case $1 in
    write | read) ;;
    *) echo "BENCH_PATH=$1; allowed: write, read" >&2; exit 2 ;;
  esac
}

# bench_workspace NAME [DATA_PARENT]: sets WORK (a private temp dir), DATA_ROOT (where
# start_sessionlab makes its servers' data dirs: WORK, or a private dir under DATA_PARENT, e.g.
# on a tmpfs), REDIS_PREFIX (a private Redis key prefix) and PG_SCHEMA (a private PostgreSQL
# schema name) for this run; when the script exits, the server is stopped, the keys under the
# prefix deleted, the schema dropped and the dirs removed (with the time noted, if they held
# session files: wait_for_reusable_inodes).
bench_workspace() {
  local id
  id=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  WORK=$(mktemp -d "/tmp/sessionlab-$1.XXXXXX")
  DATA_ROOT=$WORK
  if [ -n "${2:-}" ]; then DATA_ROOT=$(mktemp -d "$2/sessionlab-$1.XXXXXX"); fi
  REDIS_PREFIX="bench-$id:"
  PG_SCHEMA="bench_$id"
  trap bench_cleanup EXIT
}

bench_cleanup() {
  stop_server
  if command -v redis-cli >/dev/null && redis_up; then
    redis-cli -u "$REDIS_URL" --scan --pattern "$REDIS_PREFIX*" |
      xargs -r -n 1000 redis-cli -u "$REDIS_URL" del >/dev/null || true
  fi
  if command -v psql >/dev/null && postgres_up; then
    psql -q "$POSTGRES_URL" -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
  fi
  local files stamp=""
  files=$(find "$WORK" "${DATA_ROOT:-$WORK}" -mindepth 2 -maxdepth 2 -type d -name sessions \
    -not -empty -print -quit)
  if [ -n "$files" ] && ! on_tmpfs "$files"; then stamp=1; fi
  rm -rf "$WORK" "${DATA_ROOT:-$WORK}"
  if [ -n "$stamp" ]; then date +%s >"$DELETION_STAMP"; fi
}

# on_tmpfs DIR: whether DIR is on a tmpfs, which reuses a deleted file's inode at once (no
# wait_for_reusable_inodes needed).
on_tmpfs() { [ "$(stat -f -c %T "$1")" = tmpfs ]; }

redis_up() { redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; }

postgres_up() { psql -q "$POSTGRES_URL" -c 'SELECT 1' >/dev/null 2>&1; }

# fresh_postgres_schema: (re)creates PG_SCHEMA empty, so that each server measured on
# PostgreSQL starts from an empty django_session table.
fresh_postgres_schema() {
  psql -q "$POSTGRES_URL" -v ON_ERROR_STOP=1 -c 'SET client_min_messages TO warning' \
    -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" -c "CREATE SCHEMA $PG_SCHEMA" >/dev/null
}

# The URL of POSTGRES_URL's database with PG_SCHEMA as the only schema on its search path.
postgres_schema_url() {
  local separator='?'
  [[ $POSTGRES_URL == *\?* ]] && separator='&'
  echo "$POSTGRES_URL${separator}options=-c%20search_path%3D$PG_SCHEMA"
}

# build_peers: builds the peer servers of benches/peers (release) and sets PEER_BIN. They
# allocate with mimalloc, as sessionlab's binary does, unless BENCH_PEER_ALLOCATOR=system;
# with BENCH_PGO=1 they are optimised with their profile, as sessionlab is then
# (scripts/build-pgo.sh). BENCH_PEER_BIN names a peers binary built before, to use as it is.
build_peers() {
  local allocator=${BENCH_PEER_ALLOCATOR:-mimalloc} target features
  if [ -n "${BENCH_PEER_BIN:-}" ]; then
    PEER_BIN=$BENCH_PEER_BIN
    return
  fi
  if [ "${BENCH_PGO:-0}" = 1 ]; then
    [ "$allocator" = mimalloc ] || { log "BENCH_PGO=1 builds the peers with mimalloc only"; exit 2; }
    log "building the Rust peers with profile-guided optimisation (scripts/build-pgo.sh peers)"
    PEER_BIN=$(scripts/build-pgo.sh peers | tail -n 1)
    return
  fi
  # shellcheck disable=SC2153 # TARGET: set by the caller
  case $allocator in
    mimalloc) target="$TARGET/peers" features=mimalloc ;;
    system) target="$TARGET/peers-system" features="" ;;
    *) log "BENCH_PEER_ALLOCATOR=$allocator; allowed: mimalloc, system"; exit 2 ;;
  esac
  log "building the Rust peers (release, $allocator allocator)"
  CARGO_TARGET_DIR="$target" cargo build --release --locked \
    --manifest-path benches/peers/Cargo.toml ${features:+--features "$features"} >&2
  PEER_BIN="$target/release/sessionlab-peers"
}

SERVER_PID=""

# start_server LOGNAME PORT COMMAND... (environment set by the caller with `env`): starts the
# server on dropped kernel caches (drop_kernel_caches) and waits up to START_TIMEOUT seconds
# (default 30) for /healthz to answer.
start_server() {
  local name=$1 port=$2 tries
  shift 2
  drop_kernel_caches
  "$@" >"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  tries=$((${START_TIMEOUT:-30} * 10))
  for _ in $(seq 1 "$tries"); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  log "$name did not come up on port $port:"
  tail -n 20 "$WORK/$name.log" >&2
  stop_server
  return 1
}

# The server's processes: itself and its children (gunicorn's workers).
server_pids() { echo "$SERVER_PID $(pgrep -P "$SERVER_PID" | tr '\n' ' ')"; }

# server_sum FILE PROGRAM: the sum, over the server's processes, of the number the awk PROGRAM
# prints from each one's /proc/PID/FILE.
server_sum() {
  local file=$1 program=$2 total=0 pid
  for pid in $(server_pids); do
    total=$((total + $(awk "$program" "/proc/$pid/$file")))
  done
  echo "$total"
}

# cpu_ticks: the CPU time (user + system, in clock ticks) the server has used so far; utime and
# stime are fields 14 and 15 of stat (the name, field 2, has no spaces here).
# shellcheck disable=SC2016 # an awk program, not shell
cpu_ticks() { server_sum stat '{print $14 + $15}'; }

# rss_kb: the server's resident memory now, in KiB.
# shellcheck disable=SC2016 # an awk program, not shell
rss_kb() { server_sum status '/^VmRSS:/ {print $2}'; }

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

# sessionlab_binary [CARGO_ARG...]: sets SESSIONLAB to BENCH_BIN (a build kept aside, e.g. to
# compare before and after a change), to a build optimised with its profile when BENCH_PGO=1
# (scripts/build-pgo.sh), or to the release build, made now (with CARGO_ARGs).
sessionlab_binary() {
  if [ -n "${BENCH_BIN:-}" ]; then
    SESSIONLAB=$BENCH_BIN
    return
  fi
  if [ "${BENCH_PGO:-0}" = 1 ]; then
    log "building sessionlab with profile-guided optimisation (scripts/build-pgo.sh)"
    SESSIONLAB=$(scripts/build-pgo.sh sessionlab | tail -n 1)
    return
  fi
  log "building sessionlab (release)"
  cargo build --release --locked --bin sessionlab "$@" >&2
  # shellcheck disable=SC2034 # read by the caller
  SESSIONLAB="$TARGET/release/sessionlab"
}

# start_sessionlab NAME BINARY ENGINE PATHNAME: starts BINARY with ENGINE on a free port and a
# fresh data dir, SERVER_DATA (DATA_ROOT/NAME; a fresh schema for postgres), and sets up the
# route PATHNAME drives (session_route); fails, stopping the server, when it does not come up
# or the route does not answer as route_answers wants.
start_sessionlab() {
  local name=$1 binary=$2 engine=$3 pathname=$4 port
  local -a env
  port=$(free_port)
  SERVER_DATA="$DATA_ROOT/$name"
  mkdir -p "$SERVER_DATA/sessions"
  mapfile -t env < <(sessionlab_env "$engine" "$port" "$SERVER_DATA")
  if [ "$engine" = postgres ]; then fresh_postgres_schema; fi
  start_server "$name" "$port" env "${env[@]}" "$binary" serve || return 1
  session_route "$name" "$pathname" "http://127.0.0.1:$port" /basic/set/ /basic/get/
}

# start_rust_peer NAME KIND PORT [WRAPPER...]: starts the Rust peer KIND of benches/peers
# (PEER_BIN, from build_peers) on PORT, actix-redis with its keys under REDIS_PREFIX, run by
# WRAPPER when given (valgrind, for bench-instructions.sh); fails as start_server.
start_rust_peer() {
  local name=$1 kind=$2 port=$3
  local -a command=("${@:4}" "$PEER_BIN" "$kind" "$port")
  case $kind in
    actix-cookie | axum-memory) ;;
    actix-redis) command+=("$REDIS_URL" "${REDIS_PREFIX}actix:") ;;
    *) log "unknown Rust peer $kind; allowed: actix-cookie, actix-redis, axum-memory"; return 1 ;;
  esac
  start_server "$name" "$port" "${command[@]}"
}

# start_peer NAME KIND PATHNAME: start_sessionlab's counterpart for a Rust peer, on its /set/
# and /get/.
start_peer() {
  local name=$1 kind=$2 pathname=$3 port
  port=$(free_port)
  start_rust_peer "$name" "$kind" "$port" || return 1
  session_route "$name" "$pathname" "http://127.0.0.1:$port" /set/ /get/
}

# session_route NAME PATHNAME BASE SET_PATH GET_PATH: sets URL to the route PATHNAME drives on
# the server at BASE (write: SET_PATH without a cookie; read: GET_PATH with COOKIE, a session
# made with SET_PATH) and checks it with route_answers, stopping the server when it fails.
session_route() {
  local name=$1 pathname=$2 base=$3 set_path=$4 get_path=$5
  URL="$base$set_path"
  COOKIE=""
  if [ "$pathname" = read ]; then
    COOKIE=$(cookies_from "$URL")
    URL="$base$get_path"
  fi
  route_answers "$name" "$pathname" "$URL" "$COOKIE" || {
    stop_server
    return 1
  }
}

# drive_session_path DURATION: `wrk -t2 -c32` for DURATION on the route session_route set
# up (URL, with COOKIE on the read path), through scripts/bench.lua; prints its BENCH line.
drive_session_path() {
  BENCH_COOKIE=$COOKIE BENCH_ACCEPT=$ACCEPT wrk -t2 -c32 -d"$1" -s scripts/bench.lua "$URL" |
    grep '^BENCH '
}

# route_answers NAME PATHNAME URL [COOKIE]: whether URL answers exactly 200 (not a redirect)
# and, for the read path, with the session (its `Sonam`); logs why not, so the row is skipped
# rather than measuring an error page or a new session.
route_answers() {
  local name=$1 pathname=$2 url=$3 cookie=${4:-} status
  status=$(curl -s -o "$WORK/check.body" -w '%{http_code}' -H "Accept: $ACCEPT" \
    ${cookie:+-H "Cookie: $cookie"} "$url")
  if [ "$status" != 200 ]; then
    log "$name $pathname: $url answers $status, not 200; skipping"
    return 1
  fi
  if [ "$pathname" = read ] && ! grep -q Sonam "$WORK/check.body"; then
    log "$name read: the session was not found (no Sonam in the answer); skipping"
    return 1
  fi
}

# The cookies a GET of URL sets, as a Cookie header value ("a=1; b=2").
cookies_from() {
  curl -fs -H "Accept: $ACCEPT" -D - -o /dev/null "$1" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | paste -sd ';' - | sed 's/;/; /g'
}

# sessionlab_env ENGINE PORT DATA: prints, one per line, the environment that runs
# `sessionlab serve` on PORT with ENGINE, its SQLite database and session files under DATA (the
# postgres engine: the db engine in PG_SCHEMA of POSTGRES_URL's database) and
# its Redis keys under REDIS_PREFIX; fails for an engine it does not know.
sessionlab_env() {
  local engine=$1 port=$2 data=$3
  local database="sqlite://$data/sessions.sqlite3"
  # The db engine on PostgreSQL (the URL's scheme picks the backend), in PG_SCHEMA.
  if [ "$engine" = postgres ]; then database=$(postgres_schema_url); fi
  printf '%s\n' APP_CONFIG_DIR="$ROOT/config" APP__SERVER__PORT="$port" RUST_LOG=warn \
    APP__DATABASE__URL="$database" APP__SESSION__FILE_PATH="$data/sessions"
  case $engine in
    db) echo APP__SESSION__ENGINE=db ;;
    file) echo APP__SESSION__ENGINE=file ;;
    memory) printf '%s\n' APP__SESSION__ENGINE=cache APP__CACHES__DEFAULT__BACKEND=memory ;;
    # cached_db in front of the in-process cache: what cached_db itself costs beyond the db
    # engine, without a Redis server on the same cores.
    cached_db_memory) printf '%s\n' APP__SESSION__ENGINE=cached_db APP__CACHES__DEFAULT__BACKEND=memory ;;
    redis | cached_db)
      local session_engine=cache
      [ "$engine" = cached_db ] && session_engine=cached_db
      printf '%s\n' APP__SESSION__ENGINE=$session_engine APP__CACHES__DEFAULT__BACKEND=redis \
        APP__CACHES__DEFAULT__URL="$REDIS_URL" APP__CACHES__DEFAULT__KEY_PREFIX="$REDIS_PREFIX"
      ;;
    signed_cookies) echo APP__SESSION__ENGINE=signed_cookies ;;
    postgres) echo APP__SESSION__ENGINE=db ;;
    *) return 1 ;;
  esac
}
