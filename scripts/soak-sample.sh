#!/bin/bash
# One line of what a running sessionlab holds (RELIABILITY.md, "Long runs"): its open file
# descriptors, threads, resident memory, the clients of the Redis on REDISPORT (all of them:
# use a private redis-server), the PostgreSQL connections to PGDB, the size of the SQLite
# write-ahead log in DATADIR, the files in DATADIR/files and those not named like a session,
# and its TCP connections by remote address.
# usage: scripts/soak-sample.sh PID DATADIR [REDISPORT] [PGDB]
PID=$1; D=$2; RP=${3:-6390}; PGDB=$4
fds=$(ls /proc/$PID/fd | wc -l)
thr=$(awk '/Threads/{print $2}' /proc/$PID/status)
rss=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
ports=$(ss -tnp 2>/dev/null | grep "pid=$PID," | awk '{print $5}' | sort | uniq -c | tr '\n' ' ')
rc=$(redis-cli -p $RP CLIENT LIST | grep -v "cmd=client" | wc -l)
pg=""; [ -n "$PGDB" ] && pg=" pg=$(psql -h 127.0.0.1 -U postgres -d test -Atc "select count(*) from pg_stat_activity where datname='$PGDB'")"
wal=$(stat -c %s $D/sessions.sqlite3-wal 2>/dev/null)
files=$(ls $D/files 2>/dev/null | wc -l); stray=$(ls $D/files 2>/dev/null | grep -v '^sessionid[a-z0-9]\{32\}$' | wc -l)
echo "$(date +%T) fds=$fds threads=$thr rss_kb=$rss redis_clients=$rc$pg wal=$wal files=$files stray=$stray conns: $ports"
