#!/usr/bin/env bash
# Fuzzes readthrough-core's operation sequences (fuzz/fuzz_targets/operations.rs) for a fixed
# time on nightly; exits non-zero on a crash, an abort or a hang, and names the input that did it.
#   bash ci/fuzz.sh [SECONDS]      default 120 (or $FUZZ_SECONDS)
#
# It builds the target with the flags `cargo fuzz build` uses (sanitizer coverage + AddressSanitizer,
# release with line tables, one codegen unit) instead of installing cargo-fuzz: the install took
# 3m51s on the 2-core CI-like machine, longer than the build, on every fresh CI machine.
# Locally, `cargo +nightly fuzz run operations` in fuzz/ runs the same target.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
seconds=${1:-${FUZZ_SECONDS:-120}}
target=operations
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')

flags=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    -Cllvm-args=-sanitizer-coverage-stack-depth
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0
    --cfg fuzzing
    -Zsanitizer=address
    # The core's debug assertions and overflow checks are part of what is fuzzed.
    -Cdebug-assertions
    -Ccodegen-units=1
)
# --target keeps these flags away from build scripts and proc-macros, as cargo-fuzz does.
RUSTFLAGS="${flags[*]}" cargo +nightly build --locked --release --target "$triple" --bin "$target" \
    --config 'profile.release.debug="line-tables-only"'

# New inputs go to a scratch corpus; the committed seeds (fuzz/corpus/) stay as they are.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "artifacts/$target"
echo "fuzzing $target for ${seconds}s from $(find "corpus/$target" -type f | wc -l) seed inputs"
# Leaks are not checked: the target makes the user's Drop panic on purpose, and a hash table
# whose element's Drop panics (hashbrown's, like std's HashMap) leaks its allocation.
if ! ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0 "${CARGO_TARGET_DIR:-target}/$triple/release/$target" \
    "$scratch" "corpus/$target" \
    -max_total_time="$seconds" -timeout=20 -max_len=4096 -detect_leaks=0 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1; then
    echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/:" >&2
    ls -l "artifacts/$target" >&2
    echo "reproduce: (cd fuzz && cargo +nightly fuzz run $target artifacts/$target/<file>)" >&2
    exit 1
fi
