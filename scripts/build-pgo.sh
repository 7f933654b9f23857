#!/usr/bin/env bash
# A release build of sessionlab (or of the Rust peers of benches/peers) optimised with the
# profile of a class's requests: profile-guided optimisation, as rustc's book describes it.
# It builds an instrumented binary, runs it through a training load, merges the profile with
# LLVM's llvm-profdata (the `llvm-tools` rustup component, added when missing) and builds
# again with it. The binary's path is the last line printed.
#
# The training load walks every lesson's views, as JSON and as HTML pages, on each engine that
# needs no service (db, file, memory, signed_cookies) and on redis and cached_db when Redis
# answers, then puts `wrk -t2 -c32` on a read and a write of three lessons and on /healthz.
# The peers' load is their /set/ and /get/ (actix-redis only when Redis answers). A source
# that has not changed since the last run keeps its optimised build (no training, no build).
#
# Usage: scripts/build-pgo.sh [sessionlab|peers]   (default: sessionlab)
# Environment: PGO_DURATION (2s: each path's wrk run) BENCH_REDIS_URL (redis://127.0.0.1:6379/0)
#   CARGO_TARGET_DIR (target; the builds go to pgo-generate/, pgo/, peers-pgo-generate/ and
#   peers-pgo/ under it)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
ACCEPT=application/json
WHAT=${1:-sessionlab}
DURATION=${PGO_DURATION:-2s}
log() { echo "[pgo $(date +%H:%M:%S)] $*" >&2; }
# shellcheck source=scripts/services.sh
source scripts/services.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
export BENCH_DROP_CACHES=0

HOST=$(rustc -vV | sed -n 's/^host: //p')

# llvm-profdata of the toolchain that builds (its profile format is that of rustc's LLVM).
# Fails (and with it `tool=$(profdata_tool)`, under set -e) when it cannot be had: `set -e`
# does not reach into a command substitution, so each step returns its failure itself.
profdata_tool() {
  local tool
  tool="$(rustc --print sysroot)/lib/rustlib/$HOST/bin/llvm-profdata"
  if [ ! -x "$tool" ]; then
    log "adding the llvm-tools rustup component (llvm-profdata)"
    rustup component add llvm-tools >&2 || return 1
  fi
  if [ ! -x "$tool" ]; then
    log "no llvm-profdata at $tool after adding llvm-tools"
    return 1
  fi
  echo "$tool"
}

# cargo_build PROFILE_FLAG TARGET_DIR CARGO_ARG...: a release build for the host target, so
# that RUSTFLAGS reach the program's crates and not the build scripts and proc macros.
cargo_build() {
  local flag=$1 dir=$2
  shift 2
  RUSTFLAGS="${RUSTFLAGS:-} $flag" CARGO_TARGET_DIR="$dir" \
    cargo build --release --locked --target "$HOST" "$@" >&2
}

# walk_lessons BASE: every view of every lesson, in order, with one cookie jar, as a student
# clicks through them, as JSON and as the HTML pages.
walk_lessons() {
  local base=$1 accept lesson view jar="$WORK/jar"
  for accept in application/json text/html; do
    rm -f "$jar"
    for lesson in basic dict timeout testcookie settings pagesession; do
      curl -fs -o /dev/null -c "$jar" -b "$jar" -H "Accept: $accept" "$base/$lesson/" || true
      for view in set get check del flush get; do
        curl -s -o /dev/null -c "$jar" -b "$jar" -H "Accept: $accept" "$base/$lesson/$view/"
      done
    done
    curl -fs -o /dev/null -H "Accept: $accept" "$base/" || true
    curl -fs -o /dev/null -c "$jar" -b "$jar" -H "Accept: $accept" "$base/playground/" || true
  done
}

# load URL [ACCEPT] [COOKIE]: drive_session_path for PGO_DURATION on URL.
load() {
  URL=$1 ACCEPT=${2:-$ACCEPT} COOKIE=${3:-} drive_session_path "$DURATION" >/dev/null
}

train_sessionlab() {
  local binary=$1 engine base lesson accept
  local engines=(db file memory signed_cookies)
  if redis_up; then engines+=(redis cached_db); else log "Redis is down: no redis, no cached_db"; fi
  for engine in "${engines[@]}"; do
    start_sessionlab "$engine" "$binary" "$engine" write
    base=${URL%/basic/set/}
    log "training on $engine"
    walk_lessons "$base"
    for accept in application/json text/html; do
      for lesson in basic dict timeout; do
        load "$base/$lesson/get/" "$accept" "$(ACCEPT=$accept cookies_from "$base/$lesson/set/")"
        load "$base/$lesson/set/" "$accept"
      done
    done
    load "$base/healthz"
    stop_server # SIGTERM: the server shuts down and the profile is written as it exits
  done
}

train_peers() {
  local kind
  local kinds=(actix-cookie axum-memory)
  PEER_BIN=$1
  if redis_up; then kinds+=(actix-redis); else log "Redis is down: no actix-redis"; fi
  for kind in "${kinds[@]}"; do
    start_peer "$kind" "$kind" read # URL: its /get/, with COOKIE from its /set/
    log "training on $kind"
    drive_session_path "$DURATION" >/dev/null
    load "${URL%/get/}/set/"
    load "${URL%/get/}/healthz"
    stop_server
  done
}

case $WHAT in
  sessionlab)
    generate="$TARGET/pgo-generate" optimised="$TARGET/pgo" binary=sessionlab
    cargo_args=(--bin sessionlab)
    ;;
  peers)
    # With the allocator build_peers gives them (mimalloc), so the two sides still differ in
    # their session layers and web frameworks only.
    generate="$TARGET/peers-pgo-generate" optimised="$TARGET/peers-pgo" binary=sessionlab-peers
    cargo_args=(--manifest-path benches/peers/Cargo.toml --features mimalloc)
    ;;
  *) echo "scripts/build-pgo.sh $WHAT; allowed: sessionlab, peers" >&2; exit 2 ;;
esac
# A fixed place for the raw profiles, so that an unchanged source is not built again.
profiles="$generate/profiles"
log "building $WHAT instrumented ($generate)"
cargo_build "-Cprofile-generate=$profiles" "$generate" "${cargo_args[@]}"
instrumented="$generate/$HOST/release/$binary"
built="$optimised/$HOST/release/$binary"
# The optimised build names its profile after the instrumented binary it came from, so a new
# profile rebuilds every crate with it, and an unchanged source reuses the last build.
trained=$(sha256sum "$instrumented" | cut -c1-16)
if [ -x "$built" ] && [ "$(cat "$optimised/trained-on" 2>/dev/null)" = "$trained" ]; then
  log "$WHAT is unchanged since its last profile: reusing $built"
  echo "$built"
  exit 0
fi
# What training and merging need, set up only when a profile is to be made.
ensure_wrk
bench_workspace pgo
tool=$(profdata_tool)
rm -rf "$profiles"
"train_$WHAT" "$instrumented"
mkdir -p "$optimised"
rm -f "$optimised"/*.profdata
profile="$optimised/$trained.profdata"
"$tool" merge -o "$profile" "$profiles"
log "building $WHAT with the profile ($optimised)"
cargo_build "-Cprofile-use=$profile" "$optimised" "${cargo_args[@]}"
echo "$trained" >"$optimised/trained-on"
echo "$built"
