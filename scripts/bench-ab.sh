#!/usr/bin/env bash
# Two servers on one session path, in interleaved trials (A B B A A B …): each trial starts one
# server on a fresh data dir, runs `wrk -t2 -c32` on the path for BENCH_WARMUP, then again for
# BENCH_DURATION (measured), and stops it.
# A side is a sessionlab build on an engine (two builds: before and after a change; one build
# on two engines: cached_db against db) or a Rust peer of benches/peers (sessionlab against
# actix-session or tower-sessions). bench.sh measures one server's three rows, then the
# next's: whatever the first leaves behind (the file engine's hundreds of thousands of files
# in the kernel's caches, a disk still writing them out) weighs on the second, and on this
# machine that order effect, and the machine's own drift over a run, are as large as the
# difference a change makes (BENCHMARKS.md, change 32 and run S). Alternating the order and
# taking medians over several trials spreads them evenly, and each pair of trials (1–2, 3–4,
# …) holds one trial of each side, measured back to back: the ratio within each pair is
# printed too, so its spread shows how far one comparison can be trusted. As in bench.sh,
# each server starts on dropped kernel caches when run as root (drop_kernel_caches in
# scripts/services.sh; BENCH_DROP_CACHES=0 to keep them).
#
# Usage: BENCH_A=/tmp/sessionlab-before BENCH_B=target/release/sessionlab scripts/bench-ab.sh
#        BENCH_A=peer:actix-redis BENCH_B=target/release/sessionlab BENCH_ENGINE=redis \
#          BENCH_PATH=read scripts/bench-ab.sh   (ratios print as B / A: here sessionlab / peer)
# Environment:
#   BENCH_A, BENCH_B (required: a sessionlab binary, or peer:KIND for a Rust peer, KIND one of
#   actix-cookie, actix-redis, axum-memory) BENCH_LABEL_A (A) BENCH_LABEL_B (B)
#   BENCH_ENGINE (file; the engines of bench.sh: A's engine, and B's unless BENCH_ENGINE_B)
#   BENCH_ENGINE_B BENCH_PATH (write: a new session per request, GET /basic/set/ or the
#   peer's /set/ without a cookie; read: GET /basic/get/ or /get/ with one) BENCH_TRIALS (6,
#   even) BENCH_WARMUP (3s, as bench.sh; 0 for none) BENCH_DURATION (10s) BENCH_ACCEPT
#   (application/json) BENCH_MAX_LOAD (0.7) BENCH_REDIS_URL BENCH_POSTGRES_URL
#   BENCH_DROP_CACHES (1 when root) BENCH_PEER_ALLOCATOR (mimalloc; see bench.sh) BENCH_PGO
#   (1: the peers built with profile-guided optimisation, as by scripts/build-pgo.sh peers)
#   BENCH_PEER_BIN (a peers binary built before, used as it is)
#   CARGO_TARGET_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/services.sh
source scripts/services.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

A=${BENCH_A:?BENCH_A: the first server to measure (a sessionlab binary or peer:KIND)}
B=${BENCH_B:?BENCH_B: the second server to measure (a sessionlab binary or peer:KIND)}
LABEL_A=${BENCH_LABEL_A:-A}
LABEL_B=${BENCH_LABEL_B:-B}
ENGINE_A=${BENCH_ENGINE:-file}
ENGINE_B=${BENCH_ENGINE_B:-$ENGINE_A}
PATH_KIND=${BENCH_PATH:-write}
TRIALS=${BENCH_TRIALS:-6}
WARMUP=${BENCH_WARMUP:-3s}
DURATION=${BENCH_DURATION:-10s}
ACCEPT=${BENCH_ACCEPT:-application/json}
MAX_LOAD=${BENCH_MAX_LOAD:-0.7}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
require_session_path "$PATH_KIND"
if [ $((TRIALS % 2)) -ne 0 ]; then
  echo "BENCH_TRIALS=$TRIALS; it must be even (each pair of trials holds one of each side)" >&2
  exit 2
fi

log() { printf '[ab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_workspace ab
ensure_wrk
if [[ $A == peer:* || $B == peer:* ]]; then build_peers; fi

# describe SPEC ENGINE: what a side is, for the table's heading.
describe() {
  case $1 in
    peer:*) echo "the peer ${1#peer:}${BENCH_PEER_BIN:+ ($BENCH_PEER_BIN)}${BENCH_PGO:+ (BENCH_PGO=$BENCH_PGO)}" ;;
    *) echo "$1 on $2" ;;
  esac
}

# trial LABEL SPEC ENGINE N: one server of SPEC (a sessionlab binary on ENGINE, or peer:KIND)
# on a fresh data dir, one wrk run on the path; prints "N LABEL rps p50_us p99_us errors
# cpu_s_per_1000".
trial() {
  local label=$1 spec=$2 engine=$3 n=$4 line before after
  case $spec in
    peer:*) start_peer "$label-$n" "${spec#peer:}" "$PATH_KIND" || exit 1 ;;
    *) start_sessionlab "$label-$n" "$spec" "$engine" "$PATH_KIND" || exit 1 ;;
  esac
  if [ "$WARMUP" != 0 ]; then drive_session_path "$WARMUP" >/dev/null; fi
  before=$(cpu_ticks)
  line=$(drive_session_path "$DURATION")
  after=$(cpu_ticks)
  stop_server
  python3 - "$n" "$label" "$line" "$((after - before))" "$CLK_TCK" <<'PY'
import sys
n, label, line, ticks, clk_tck = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
f = dict(kv.split("=") for kv in line.split()[1:])
cpu = ticks / clk_tck / int(f["requests"]) * 1000  # server CPU seconds per 1000 requests
print(n, label, f["rps"], f["p50_us"], f["p99_us"], f["errors"], f"{cpu:.4f}")
PY
}

if [[ $ENGINE_A == file && $A != peer:* || $ENGINE_B == file && $B != peer:* ]]; then
  wait_for_reusable_inodes
fi
START_LOAD=$(wait_for_quiet)
log "load before the run: $START_LOAD; $PATH_KIND, $TRIALS trials of $DURATION after $WARMUP"
RESULTS="$WORK/trials"
for n in $(seq 1 "$TRIALS"); do
  # A B B A A B B A …: each side goes first in half of the pairs.
  case $((n % 4)) in
    0 | 1) result=$(trial "$LABEL_A" "$A" "$ENGINE_A" "$n") ;;
    *) result=$(trial "$LABEL_B" "$B" "$ENGINE_B" "$n") ;;
  esac
  log "trial $result"
  echo "$result" >>"$RESULTS"
done

python3 - "$RESULTS" "$LABEL_A" "$LABEL_B" "$(describe "$A" "$ENGINE_A")" \
  "$(describe "$B" "$ENGINE_B")" "$PATH_KIND" "$WARMUP" "$DURATION" "$START_LOAD" <<'PY'
import statistics, sys
results, label_a, label_b, side_a, side_b, path, warmup, duration, load = sys.argv[1:]
rows = {label_a: [], label_b: []}
by_pair = {}
for line in open(results):
    n, label, rps, p50, p99, errors, cpu = line.split()
    trial = (float(rps), int(p50) / 1000, int(p99) / 1000, int(errors), float(cpu))
    rows[label].append(trial)
    by_pair.setdefault((int(n) + 1) // 2, {})[label] = trial
warmed = f" after a {warmup} warm-up" if warmup != "0" else ""
print(f"{path}: {label_a} is {side_a}, {label_b} is {side_b}; wrk -t2 -c32 -d{duration}{warmed} "
      f"per trial, trials interleaved; 1-minute load before the run: {load}")
print()
print("| server | trials: requests/s | median requests/s | median p50 ms | median p99 ms | errors | median server CPU s / 1000 req |")
print("|---|---|---:|---:|---:|---:|---:|")
median = lambda label, i: statistics.median(t[i] for t in rows[label])
for label, trials in rows.items():
    listed = ", ".join(f"{t[0]:,.0f}" for t in trials)
    print(f"| {label} | {listed} | {median(label, 0):,.0f} | {median(label, 1):.2f} | "
          f"{median(label, 2):.2f} | {sum(t[3] for t in trials)} | {median(label, 4):.3f} |")
pairs = [p[label_b][0] / p[label_a][0] for _, p in sorted(by_pair.items())]
print()
print(f"{label_b} / {label_a}: {median(label_b, 0) / median(label_a, 0):.2f}× the requests "
      f"(pair by pair: {', '.join(f'{r:.2f}' for r in pairs)}), "
      f"{median(label_b, 4) / median(label_a, 4):.2f}× the server CPU a request")
PY
