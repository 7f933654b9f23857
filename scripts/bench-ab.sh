#!/usr/bin/env bash
# Two builds of sessionlab on one engine and path, in interleaved trials (A B B A A B …): each
# trial starts one build on a fresh data dir, runs `wrk -t2 -c32` on the path for
# BENCH_DURATION, and stops it. bench.sh measures a build's three rows, then the other
# build's: whatever the first server leaves behind (the file engine's hundreds of thousands
# of files in the kernel's caches, a disk still writing them out) weighs on the second, and on
# this machine that order effect is as large as the difference a change makes (BENCHMARKS.md,
# change 32). Alternating the order and taking medians over several trials spreads it evenly;
# as in bench.sh, each server starts on dropped kernel caches when run as root
# (drop_kernel_caches in scripts/services.sh; BENCH_DROP_CACHES=0 to keep them).
#
# Usage: BENCH_A=/tmp/sessionlab-before BENCH_B=target/release/sessionlab scripts/bench-ab.sh
# Environment:
#   BENCH_A, BENCH_B (the two binaries; required) BENCH_LABEL_A (A) BENCH_LABEL_B (B)
#   BENCH_ENGINE (file; the engines of bench.sh) BENCH_PATH (write: GET /basic/set/ without a
#   cookie; read: GET /basic/get/ with one) BENCH_TRIALS (6, even) BENCH_DURATION (10s)
#   BENCH_ACCEPT (application/json) BENCH_MAX_LOAD (0.7) BENCH_REDIS_URL BENCH_POSTGRES_URL
#   BENCH_DROP_CACHES (1 when root)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/services.sh
source scripts/services.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

A=${BENCH_A:?BENCH_A: the first build to measure}
B=${BENCH_B:?BENCH_B: the second build to measure}
LABEL_A=${BENCH_LABEL_A:-A}
LABEL_B=${BENCH_LABEL_B:-B}
ENGINE=${BENCH_ENGINE:-file}
PATH_KIND=${BENCH_PATH:-write}
TRIALS=${BENCH_TRIALS:-6}
DURATION=${BENCH_DURATION:-10s}
ACCEPT=${BENCH_ACCEPT:-application/json}
MAX_LOAD=${BENCH_MAX_LOAD:-0.7}
require_session_path "$PATH_KIND"

log() { printf '[ab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_workspace ab
ensure_wrk

# trial LABEL BINARY N: one server of BINARY on a fresh data dir, one wrk run on the path;
# prints "LABEL rps p50_us p99_us errors cpu_s_per_1000".
trial() {
  local label=$1 binary=$2 n=$3 line before after
  start_sessionlab "$label-$n" "$binary" "$ENGINE" "$PATH_KIND" || exit 1
  before=$(cpu_ticks)
  line=$(drive_session_path "$DURATION")
  after=$(cpu_ticks)
  stop_server
  python3 - "$label" "$line" "$((after - before))" "$CLK_TCK" <<'PY'
import sys
label, line, ticks, clk_tck = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f = dict(kv.split("=") for kv in line.split()[1:])
cpu = ticks / clk_tck / int(f["requests"]) * 1000  # server CPU seconds per 1000 requests
print(label, f["rps"], f["p50_us"], f["p99_us"], f["errors"], f"{cpu:.4f}")
PY
}

if [ "$ENGINE" = file ]; then wait_for_reusable_inodes; fi
START_LOAD=$(wait_for_quiet)
log "load before the run: $START_LOAD; $ENGINE $PATH_KIND, $TRIALS trials of $DURATION"
RESULTS="$WORK/trials"
for n in $(seq 1 "$TRIALS"); do
  # A B B A A B B A …: each build goes first in half of the pairs.
  case $((n % 4)) in
    0 | 1) result=$(trial "$LABEL_A" "$A" "$n") ;;
    *) result=$(trial "$LABEL_B" "$B" "$n") ;;
  esac
  log "trial $n: $result"
  echo "$result" >>"$RESULTS"
done

python3 - "$RESULTS" "$LABEL_A" "$LABEL_B" "$ENGINE" "$PATH_KIND" "$DURATION" "$START_LOAD" <<'PY'
import statistics, sys
results, label_a, label_b, engine, path, duration, load = sys.argv[1:]
rows = {label_a: [], label_b: []}
for line in open(results):
    label, rps, p50, p99, errors, cpu = line.split()
    rows[label].append((float(rps), int(p50) / 1000, int(p99) / 1000, int(errors), float(cpu)))
print(f"{engine} {path}, wrk -t2 -c32 -d{duration} per trial, trials interleaved; "
      f"1-minute load before the run: {load}")
print()
print("| build | trials: requests/s | median requests/s | median p50 ms | median p99 ms | errors | median server CPU s / 1000 req |")
print("|---|---|---:|---:|---:|---:|---:|")
for label, trials in rows.items():
    med = lambda i: statistics.median(t[i] for t in trials)
    listed = ", ".join(f"{t[0]:,.0f}" for t in trials)
    print(f"| {label} | {listed} | {med(0):,.0f} | {med(1):.2f} | {med(2):.2f} | "
          f"{sum(t[3] for t in trials)} | {med(4):.3f} |")
a, b = (statistics.median(t[0] for t in rows[l]) for l in (label_a, label_b))
print()
print(f"{label_b} / {label_a}: {b / a:.2f}×")
PY
