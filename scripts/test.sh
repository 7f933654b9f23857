#!/usr/bin/env bash
# Runs every test of sessionlab. Makes sure what the tests need is installed and running
# first: Redis and PostgreSQL (engine tests), Django 5.2 in a venv (round-trip tests),
# Chromium, playwright-core and axe-core (browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh

ensure_redis
ensure_postgres
ensure_django_venv target/django-venv
export SESSIONLAB_DJANGO_PYTHON="$PWD/target/django-venv/bin/python"
export SESSIONLAB_REQUIRE_DJANGO=1

cargo test --all-targets --locked "$@"
# The examples in the documentation (`--all-targets` leaves them out).
cargo test --doc --locked

# The lessons in a real browser (installs Debian's chromium, playwright-core and axe-core when
# missing).
scripts/browser-test.sh
