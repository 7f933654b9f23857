# shellcheck shell=bash
# Shell helpers (sourced, not run) that install and start the services sessionlab's tests and
# benchmarks use, when they are missing. Debian packages; root or sudo.

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  if [ -z "${SESSIONLAB_APT_UPDATED:-}" ]; then
    as_root apt-get update -qq
    export SESSIONLAB_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# A TCP port free on 127.0.0.1 right now, for a server of the benchmarks.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits (polling every 15 s, at most 10 minutes) for the 1-minute load average to fall below
# MAX_LOAD (set by the calling script, as its `log` function); prints the load it started with.
wait_for_quiet() {
  local waited=0 load
  while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if python3 -c "import sys; sys.exit(0 if $load < $MAX_LOAD else 1)"; then break; fi
    if [ "$waited" -ge 600 ]; then
      log "load $load still >= $MAX_LOAD after 10 minutes; measuring anyway (noted)"
      break
    fi
    log "load $load >= $MAX_LOAD; waiting"
    sleep 15
    waited=$((waited + 15))
  done
  echo "$load"
}

# drop_kernel_caches: writes out what is dirty and, as root unless BENCH_DROP_CACHES=0, drops
# the kernel's page, dentry and inode caches, so that each server measured starts from the same
# state, not with the previous server's files (a million, after a file-engine row) in the
# caches that every new file's lookups walk (BENCHMARKS.md, change 32).
drop_kernel_caches() {
  local default=0
  [ "$(id -u)" = 0 ] && default=1
  sync
  [ "${BENCH_DROP_CACHES:-$default}" = 1 ] || return 0
  echo 3 2>/dev/null >/proc/sys/vm/drop_caches || log "cannot drop the kernel's caches; measuring with them"
}

# Where the benchmarks note when they last deleted a file engine's sessions (bench_cleanup).
DELETION_STAMP=${TMPDIR:-/tmp}/sessionlab-bench-files-deleted-at

# wait_for_reusable_inodes: waits until six minutes have passed since the benchmarks last
# deleted a file engine's sessions. On ext4 without a journal, as here, the inode of a deleted
# file is not reused for a minute (six while its inode table block is dirty), and the kernel
# finds each new file's inode by stepping past every such one: a file-engine server started
# just after 200,000 files were deleted creates sessions at a third of the speed
# (BENCHMARKS.md, change 32).
wait_for_reusable_inodes() {
  local deleted left
  deleted=$(cat "$DELETION_STAMP" 2>/dev/null) || return 0
  left=$((deleted + 360 - $(date +%s)))
  [ "$left" -gt 0 ] || return 0
  log "waiting ${left}s for the inodes of the session files deleted at $(date -d "@$deleted" +%H:%M:%S) to be reusable again"
  sleep "$left"
}

# wrk, the HTTP load generator of the benchmarks.
ensure_wrk() {
  command -v wrk >/dev/null || apt_install wrk
}

# Redis on 127.0.0.1:6379, keeping nothing on disk.
ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "Redis did not start on 127.0.0.1:6379" >&2
  return 1
}

# PostgreSQL on 127.0.0.1:5432 with trust auth and a database named `test`.
ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    ensure_postgres_test_db
    return 0
  fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
  fi
  local version
  # shellcheck disable=SC2012 # the clusters' version numbers: plain names
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 100); do
    pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break
    sleep 0.2
  done
  pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 || {
    echo "PostgreSQL did not start on 127.0.0.1:5432" >&2
    return 1
  }
  ensure_postgres_test_db
}

ensure_postgres_test_db() {
  if psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then return 0; fi
  # A fresh cluster: allow local trust auth and create the database.
  local hba
  # shellcheck disable=SC2012 # paths of plain names
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
  if ! grep -q "sessionlab" "$hba"; then
    as_root sh -c "printf '%s\n' '# sessionlab tests' 'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust' | cat - '$hba' > '$hba.new' && mv '$hba.new' '$hba'"
    # shellcheck disable=SC2012 # the clusters' version numbers: plain names
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main reload
  fi
  as_root su postgres -c "psql -c 'create database test'" >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null
}

# A Python virtual environment at $1 with Django 5.2 (the reference the tests compare with)
# and psycopg, its PostgreSQL driver.
ensure_django_venv() {
  local venv=$1
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import django, psycopg, sys; sys.exit(django.VERSION[:2] != (5, 2))' 2>/dev/null; then
    return 0
  fi
  command -v python3 >/dev/null || apt_install python3 python3-venv
  python3 -m venv "$venv" || { apt_install python3-venv && python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'Django>=5.2,<5.3' 'psycopg[binary]>=3.2,<4'
}
