#!/usr/bin/env bash
# Fuzzes sessionlab's parsers and decoders: runs each cargo-fuzz target in fuzz/ for SECONDS
# (default 60) when cargo-fuzz and a nightly toolchain are available. Without them it says
# what is missing and runs the same checks as property tests and over the committed seed
# corpus instead (what CI runs), and exits 0 if those pass.
#
#   scripts/fuzz.sh                  every target, 60 s each
#   scripts/fuzz.sh 300 unsign       one target, 5 minutes
#   FUZZ_JOBS=2 scripts/fuzz.sh      libFuzzer workers per target (default 1)
#
# New inputs libFuzzer finds go to target/fuzz-corpus/<target>/ (the committed seeds in
# fuzz/corpus/<target>/ are read, never written). A failing input is saved under
# fuzz/artifacts/<target>/; shrink it with `cargo +nightly fuzz tmin <target> <file>`, then
# commit it to fuzz/corpus/<target>/ so that `cargo test --test properties` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]  (SECONDS must be a positive integer)" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))
requested=("$@")

property_tests() {
    echo "== the same properties without libFuzzer: cargo test --test properties --test session_model"
    cargo test --locked --test properties --test session_model
}

missing=()
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    missing+=("cargo-fuzz (install it with: cargo install cargo-fuzz)")
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
    missing+=("a nightly Rust toolchain, which libFuzzer's sanitizer flags need (rustup toolchain install nightly)")
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "scripts/fuzz.sh: cannot fuzz here; missing:"
    printf '  - %s\n' "${missing[@]}"
    echo "Running the fuzz targets' properties and seed corpus as tests instead."
    property_tests
    exit 0
fi

mapfile -t all_targets < <(cd fuzz && cargo +nightly fuzz list)
if [ "${#requested[@]}" -gt 0 ]; then
    targets=("${requested[@]}")
else
    targets=("${all_targets[@]}")
fi
for target in "${targets[@]}"; do
    if ! printf '%s\n' "${all_targets[@]}" | grep -qx "$target"; then
        echo "scripts/fuzz.sh: no fuzz target named $target (there are: ${all_targets[*]})" >&2
        exit 2
    fi
done

echo "== building the fuzz targets (nightly, AddressSanitizer, debug assertions)"
(cd fuzz && cargo +nightly fuzz build)

jobs="${FUZZ_JOBS:-1}"
parallel=()
if [ "$jobs" -gt 1 ]; then
    parallel=(-jobs="$jobs" -workers="$jobs")
fi

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
failed=()
for target in "${targets[@]}"; do
    work="$target_dir/fuzz-corpus/$target"
    mkdir -p "$work"
    echo "== fuzzing $target for ${seconds}s (seeds: fuzz/corpus/$target, new inputs: $work)"
    if ! (cd fuzz && cargo +nightly fuzz run "$target" "$work" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 "${parallel[@]}"); then
        failed+=("$target")
    fi
done

property_tests

if [ "${#failed[@]}" -gt 0 ]; then
    echo "scripts/fuzz.sh: these targets found failing inputs (see fuzz/artifacts/): ${failed[*]}" >&2
    exit 1
fi
echo "scripts/fuzz.sh: ${#targets[@]} targets fuzzed for ${seconds}s each; no failure found."
