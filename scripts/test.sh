#!/usr/bin/env bash
# Runs every test of sessionlab. Makes sure what the tests need is installed and running
# first: Redis and PostgreSQL (engine tests), Python 3 (Django round-trip tests).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh

ensure_redis
ensure_postgres

cargo test --all-targets --locked "$@"
