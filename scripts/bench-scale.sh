#!/usr/bin/env bash
# Scale checks of sessionlab, each the median of BENCH_ROUNDS (3) rounds:
#   clearsessions  `sessionlab clearsessions` over BENCH_EXPIRED (1,000,000) expired SQLite rows
#                  (plus 1,000 live ones that must survive), inserted in one transaction; then
#                  the same while a server on the same file answers wrk (8 connections) with new
#                  sessions (writes) or with a session (reads): the longest wait a request had.
#                  The same over BENCH_EXPIRED_FILES (100,000) expired session files of the
#                  file engine (plus 1,000 live ones), and with a server on that directory.
#   memory cache   resident memory of the in-process cache with BENCH_LIVE (1,000,000) sessions
#                  (examples/memory_footprint.rs)
#   startup        time from spawning `sessionlab serve` to the first 200 from /healthz, and the
#                  server's idle RSS a second later (db engine on a fresh SQLite file, and the
#                  signed_cookies engine, which opens no store)
# Usage: scripts/bench-scale.sh   (about 6 minutes)
# Environment: BENCH_ROUNDS (3) BENCH_EXPIRED (1000000) BENCH_EXPIRED_FILES (100000)
#   BENCH_LIVE (1000000) BENCH_MAX_LOAD (0.7) BENCH_BIN (a sessionlab binary to measure instead
#   of the release build; the memory example is built all the same) CARGO_TARGET_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/services.sh
source scripts/services.sh
ROUNDS=${BENCH_ROUNDS:-3}
EXPIRED=${BENCH_EXPIRED:-1000000}
EXPIRED_FILES=${BENCH_EXPIRED_FILES:-100000}
LIVE=${BENCH_LIVE:-1000000}
MAX_LOAD=${BENCH_MAX_LOAD:-0.7}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d /tmp/sessionlab-scale.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

log() { printf '[scale %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

log "building sessionlab and the memory example (release)"
cargo build --release --locked --bin sessionlab --example memory_footprint >&2
SESSIONLAB=${BENCH_BIN:-$TARGET/release/sessionlab} # BENCH_BIN: another build, e.g. before a change
START_LOAD=$(wait_for_quiet)
log "load before the run: $START_LOAD"

# --- the sessions clearsessions empties: 1M expired rows, 100,000 expired files -----------
log "filling a SQLite database with $EXPIRED expired sessions"
python3 - "$WORK/pristine.sqlite3" "$EXPIRED" <<'PY'
import datetime, random, sqlite3, string, sys

path, expired = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
# Django's 0001_initial for django.contrib.sessions, as sessionlab's db store creates it.
db.execute('CREATE TABLE "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, '
           '"session_data" text NOT NULL, "expire_date" datetime NOT NULL)')
db.execute('CREATE INDEX "django_session_expire_date_a5c62663" ON "django_session" ("expire_date")')
alphabet = string.ascii_lowercase + string.digits
rng = random.Random(42)
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
# What sessionlab stores for the basic lesson (signature irrelevant: nothing decodes it).
data = "eyJuYW1lIjoiU29uYW0iLCJsbmFtZSI6InJhdGhvcmUifQ:1vMd7Z:bench-row-not-decoded"
def rows(count, first, step):
    # Expiry dates from `first` seconds away, `step` seconds apart (cycling over a day).
    for i in range(count):
        key = "".join(rng.choice(alphabet) for _ in range(32))
        at = now + datetime.timedelta(seconds=first + step * (i % 86400))
        yield key, data, at.strftime("%Y-%m-%d %H:%M:%S")
with db:
    db.executemany("INSERT INTO django_session VALUES (?, ?, ?)", rows(expired, -60, -1))
    # Live for a day at least: the rounds must not see them expire.
    db.executemany("INSERT INTO django_session VALUES (?, ?, ?)", rows(1000, 86400, 1))
db.execute("PRAGMA journal_mode=WAL")
db.close()
PY
log "writing $EXPIRED_FILES expired session files"
python3 - "$WORK/pristine-files" "$EXPIRED_FILES" <<'PY'
import os, random, string, sys, time

path, expired = sys.argv[1], int(sys.argv[2])
os.makedirs(path)
alphabet = string.ascii_lowercase + string.digits
rng = random.Random(42)
now = time.time()
# What the file engine stores for the basic lesson (signature irrelevant: nothing decodes it),
# under the basic lesson's cookie name; the file's mtime is the session's expire_date.
data = b"eyJuYW1lIjoiU29uYW0iLCJsbmFtZSI6InJhdGhvcmUifQ:1vMd7Z:bench-file-not-decoded"
def files(count, first, step):
    # Expiry dates from `first` seconds away, `step` seconds apart (cycling over a day).
    for i in range(count):
        name = os.path.join(path, "sessionid" + "".join(rng.choice(alphabet) for _ in range(32)))
        with open(name, "wb") as f:
            f.write(data)
        at = now + first + step * (i % 86400)
        os.utime(name, (at, at))
files(expired, -60, -1)
files(1000, 86400, 1)  # live for a day at least: the rounds must not see them expire
PY
# store_copy STORE: a fresh copy of STORE's sessions at $WORK/copy-STORE (sqlite: the 1M-row
# file, for the db engine; files: the expired files, for the file engine), and the environment
# of a sessionlab on that copy, a VAR=value a line.
store_copy() {
  local copy="$WORK/copy-$1"
  if [ "$1" = files ]; then
    rm -rf "$copy"
    cp -a "$WORK/pristine-files" "$copy"
    printf '%s\n' APP_CONFIG_DIR="$ROOT/config" RUST_LOG=warn APP__SESSION__ENGINE=file \
      APP__SESSION__FILE_PATH="$copy" APP__DATABASE__URL="sqlite://$WORK/file-engine-unused.sqlite3"
  else
    cp "$WORK/pristine.sqlite3" "$copy"
    rm -f "$copy-wal" "$copy-shm"
    printf '%s\n' APP_CONFIG_DIR="$ROOT/config" RUST_LOG=warn APP__DATABASE__URL="sqlite://$copy"
  fi
}

# sessions_left STORE: how many sessions the copy of STORE holds.
sessions_left() {
  if [ "$1" = files ]; then
    find "$WORK/copy-$1" -type f | wc -l
  else
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from django_session").fetchone()[0])' "$WORK/copy-$1"
  fi
}

# clear_rounds STORE: the median seconds of `sessionlab clearsessions` over ROUNDS fresh copies
# of STORE; each must leave exactly the 1,000 live sessions.
clear_rounds() {
  local store=$1 round start end report left seconds
  local -a env times=()
  for round in $(seq 1 "$ROUNDS"); do
    mapfile -t env < <(store_copy "$store")
    sync
    start=$(date +%s.%N)
    report=$(env "${env[@]}" "$SESSIONLAB" clearsessions | tr '\n' ' ')
    end=$(date +%s.%N)
    left=$(sessions_left "$store")
    seconds=$(python3 -c "print(round($end - $start, 3))")
    times+=("$seconds")
    log "clearsessions ($store) round $round: ${seconds}s, $left sessions left (1000 live expected); $report"
    [ "$left" = 1000 ] || { log "clearsessions ($store) left $left sessions, not 1000"; exit 1; }
  done
  median "${times[@]}"
}

# live_seconds CLEAR_SECONDS: long enough to cover a whole clearsessions run, which starts a
# second in.
live_seconds() { python3 -c "import math; print(min(120, math.ceil($1) + 4))"; }

# during_clear STORE PATH CLEAR SECONDS: "<longest wait ms> <p99 ms> <requests> <errors>" for
# wrk on PATH for SECONDS, while clearsessions runs in another process on the server's own copy
# of STORE; with CLEAR `none`, the same without clearsessions: what the path's latency is
# anyway.
during_clear() {
  local store=$1 path=$2 clear=$3 seconds=$4 port cookie="" server line
  local -a env
  mapfile -t env < <(store_copy "$store")
  port=$(free_port)
  env "${env[@]}" APP__SERVER__PORT="$port" "$SESSIONLAB" serve >"$WORK/live.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  if [ "$path" = /basic/get/ ]; then
    cookie=$(curl -fs -D - -o /dev/null "http://127.0.0.1:$port/basic/set/" |
      tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p')
  fi
  BENCH_COOKIE=$cookie BENCH_ACCEPT=application/json wrk -t1 -c8 -d"${seconds}s" \
    -s scripts/bench.lua "http://127.0.0.1:$port$path" >"$WORK/live.wrk" &
  local wrk=$!
  sleep 1
  if [ "$clear" != none ]; then
    env "${env[@]}" "$SESSIONLAB" clearsessions >/dev/null
  fi
  wait "$wrk"
  kill "$server"; wait "$server" 2>/dev/null || true
  line=$(grep '^BENCH ' "$WORK/live.wrk")
  python3 - "$line" <<'PY2'
import sys
f = dict(kv.split("=") for kv in sys.argv[1].split()[1:])
print(f"{int(f['max_us']) / 1000:.1f} {int(f['p99_us']) / 1000:.1f} {f['requests']} {f['errors']}")
PY2
}

ROWS=() # the table's rows, in the order measured
# row CHECK RESULT: one row of the table.
row() { ROWS+=("| $1 | $2 |"); }
# live_row STORE PATH CLEAR SECONDS CHECK: during_clear's figures as the row CHECK.
live_row() {
  local longest p99 requests errors
  read -r longest p99 requests errors < <(during_clear "$1" "$2" "$3" "$4")
  log "$5: longest ${longest} ms, p99 ${p99} ms, $requests requests, $errors errors"
  row "$5" "longest wait ${longest} ms, p99 ${p99} ms, $requests requests, $errors errors"
}

# clear_checks STORE WHAT LABEL: clearsessions over STORE's expired sessions (WHAT names them
# in the table), then new sessions, reads and new sessions without it, as live rows whose
# labels start with LABEL.
clear_checks() {
  local store=$1 what=$2 label=$3 clear seconds
  clear=$(clear_rounds "$store")
  row "clearsessions, $what (+1,000 live kept)" "${clear} s"
  seconds=$(live_seconds "$clear")
  live_row "$store" /basic/set/ clear "$seconds" \
    "${label}new sessions served meanwhile (wrk -c8 for ${seconds} s, clearsessions from another process)"
  live_row "$store" /basic/get/ clear "$seconds" "${label}sessions read meanwhile (same)"
  live_row "$store" /basic/set/ none "$seconds" \
    "${label}new sessions served without clearsessions (same load, for comparison)"
}

ensure_wrk
# --- clearsessions over 1M expired rows and 100,000 expired files, live requests meanwhile ---
clear_checks sqlite "$EXPIRED expired SQLite rows" ""
clear_checks files "$EXPIRED_FILES expired session files" "file engine: "
rm -rf "$WORK/copy-files"

# --- the memory cache with 1M live sessions -------------------------------------------------
mem_mib=() mem_per=()
for round in $(seq 1 "$ROUNDS"); do
  line=$("$TARGET/release/examples/memory_footprint" "$LIVE")
  log "memory round $round: $line"
  # shellcheck disable=SC2001 # one field of the line, by its name
  mem_mib+=("$(sed 's/.*grown_mib=\([0-9.]*\).*/\1/' <<<"$line")")
  # shellcheck disable=SC2001 # one field of the line, by its name
  mem_per+=("$(sed 's/.*bytes_per_session=\([0-9]*\).*/\1/' <<<"$line")")
done
MEM=$(median "${mem_mib[@]}")
MEM_PER=$(median "${mem_per[@]}")

# --- startup time and idle RSS --------------------------------------------------------------
startup() {
  # startup ENGINE: prints "<milliseconds to first 200> <idle RSS KiB>".
  local engine=$1
  local dir="$WORK/startup-$engine-$RANDOM"
  mkdir -p "$dir"
  APP_CONFIG_DIR="$ROOT/config" RUST_LOG=warn APP__SESSION__ENGINE="$engine" \
    APP__DATABASE__URL="sqlite://$dir/sessions.sqlite3" \
    python3 - "$SESSIONLAB" <<'PY'
import http.client, os, socket, subprocess, sys, time

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
env = dict(os.environ, APP__SERVER__PORT=str(port))
started = time.monotonic()
server = subprocess.Popen([sys.argv[1], "serve"], env=env, stdout=subprocess.DEVNULL)
try:
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() - started > 30:
            sys.exit("the server did not answer /healthz")
        time.sleep(0.001)
    elapsed_ms = (time.monotonic() - started) * 1000
    time.sleep(1)
    rss = next(int(l.split()[1]) for l in open(f"/proc/{server.pid}/status") if l.startswith("VmRSS:"))
    print(f"{elapsed_ms:.1f} {rss}")
finally:
    server.terminate()
    server.wait()
PY
}
declare -A START_MS IDLE_MIB
for engine in db signed_cookies; do
  ms=() rss=()
  for round in $(seq 1 "$ROUNDS"); do
    read -r t r < <(startup "$engine")
    log "startup $engine round $round: ${t} ms, idle RSS ${r} KiB"
    ms+=("$t") rss+=("$r")
  done
  START_MS[$engine]=$(median "${ms[@]}")
  IDLE_MIB[$engine]=$(python3 -c "print(round($(median "${rss[@]}") / 1024, 1))")
done

echo
echo "\`scripts/bench-scale.sh\` — median of $ROUNDS rounds; 1-minute load before the run: $START_LOAD."
echo
echo "| check | result |"
echo "|---|---|"
printf '%s\n' "${ROWS[@]}"
echo "| memory cache with $LIVE live sessions | ${MEM} MiB resident (${MEM_PER} bytes per session) |"
echo "| startup to first 200 from /healthz, db (SQLite, new file) | ${START_MS[db]} ms |"
echo "| startup to first 200 from /healthz, signed_cookies | ${START_MS[signed_cookies]} ms |"
echo "| idle RSS after startup, db | ${IDLE_MIB[db]} MiB |"
echo "| idle RSS after startup, signed_cookies | ${IDLE_MIB[signed_cookies]} MiB |"
