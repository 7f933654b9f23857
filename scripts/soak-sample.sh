#!/usr/bin/env bash
# One line of what a running sessionlab holds (RELIABILITY.md, "Long runs"): its open file
# descriptors, threads, resident memory, the clients of the Redis on REDISPORT (all of them:
# use a private redis-server), the PostgreSQL connections to PGDB, the size of the SQLite
# write-ahead log in DATADIR, the files in DATADIR/files and those not named like a session,
# and its TCP connections by remote address.
# usage: scripts/soak-sample.sh PID DATADIR [REDISPORT] [PGDB]
set -uo pipefail
pid=${1:?usage: scripts/soak-sample.sh PID DATADIR [REDISPORT] [PGDB]}
data=${2:?usage: scripts/soak-sample.sh PID DATADIR [REDISPORT] [PGDB]}
redis_port=${3:-6390}
pg_database=${4:-}

fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
threads=$(awk '/^Threads/{print $2}' "/proc/$pid/status")
rss_kb=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")
connections=$(ss -tnp 2>/dev/null | grep "pid=$pid," | awk '{print $5}' | sort | uniq -c | tr '\n' ' ')
redis_clients=$(redis-cli -p "$redis_port" CLIENT LIST | grep -vc "cmd=client")
postgres=""
if [ -n "$pg_database" ]; then
  postgres=" pg=$(psql -h 127.0.0.1 -U postgres -d test -Atc \
    "select count(*) from pg_stat_activity where datname = '$pg_database'")"
fi
wal=$(stat -c %s "$data/sessions.sqlite3-wal" 2>/dev/null)
files=0
stray=0
if [ -d "$data/files" ]; then
  files=$(find "$data/files" -mindepth 1 -maxdepth 1 | wc -l)
  stray=$(find "$data/files" -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -vc '^sessionid[a-z0-9]\{32\}$')
fi
echo "$(date +%T) fds=$fds threads=$threads rss_kb=$rss_kb redis_clients=$redis_clients$postgres" \
  "wal=$wal files=$files stray=$stray conns: $connections"
