#!/usr/bin/env bash
# Runs the browser tests (tests/browser/): the lessons in a real chromium driven by
# playwright-core, against the real `sessionlab serve` binary, and every kind of page checked
# by axe-core. Installs what they need first: Debian's chromium (apt), playwright-core and
# axe-core (npm ci, from the committed lock file; no browser download). Extra arguments go to
# `node --test`, e.g. --test-name-pattern=Secure. Screenshots of every lesson page land in
# target/screenshots/, the HTML of every page axe checked in target/a11y-pages/.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium_bin="${CHROMIUM_BIN:-/usr/bin/chromium}"
if [[ ! -x "$chromium_bin" ]]; then
    echo "== installing chromium (apt)"
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
export CHROMIUM_BIN="$chromium_bin"

if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    echo "browser-test: Node.js 20 or newer is required" >&2
    exit 1
fi

# npm ci when node_modules is missing or was installed from another package.json/lock file.
(
    cd tests/browser
    stamp=node_modules/.sessionlab-lock-stamp
    want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
    if [[ ! -d node_modules/playwright-core || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        echo "== npm ci (tests/browser)"
        npm ci --no-audit --no-fund
        echo "$want" > "$stamp"
    fi
)

echo "== cargo build --locked"
cargo build --locked
# Where cargo put it: honours CARGO_TARGET_DIR and build.target-dir.
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).target_directory))')"
export SESSIONLAB_BIN="$target_dir/debug/sessionlab"
if [[ ! -x "$SESSIONLAB_BIN" ]]; then
    echo "browser-test: no binary at $SESSIONLAB_BIN after cargo build" >&2
    exit 1
fi

echo "== node --test tests/browser/*.test.mjs (sessionlab: $SESSIONLAB_BIN, chromium: $CHROMIUM_BIN)"
node --test --test-reporter=spec "$@" tests/browser/*.test.mjs
