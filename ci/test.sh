#!/usr/bin/env bash
# The whole CI: every gate of BRIEF §7, one summary line each, a table at the end.
#   bash ci/test.sh                 all gates
#   bash ci/test.sh fmt test:       only gates whose names start with one of these prefixes
# A failing gate does not stop the others; the run exits 1 when any gate failed.
# What each gate protects: ci/README.md.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
export CI_SELECT="$*"
# shellcheck source=ci/gate.sh
source ci/gate.sh

export CARGO_TERM_COLOR=never
if [[ ${CI:-} == true ]]; then
    # A fresh clone builds everything once: incremental state would only cost time and disk.
    export CARGO_INCREMENTAL=0
fi

NO_STD_TARGETS=(thumbv7em-none-eabihf riscv32imac-unknown-none-elf thumbv6m-none-eabi)
# thumbv6m has no compare-and-swap: atomics come from portable-atomic over a critical section.
NO_CAS_TARGET=thumbv6m-none-eabi
NO_CAS_FEATURES=(portable-atomic critical-section)
FIRMWARE_TARGET=thumbv7em-none-eabihf
NO_STD_CRATES=(readthrough-core readthrough-embassy)
FACADE=readthrough
FACADE_RUNTIMES=(tokio smol embassy)
DEMO_COMMAND=(cargo run --example demo --features tokio)
LOOM_TEST=core/tests/loom.rs
TARGET_DIR=${CARGO_TARGET_DIR:-target}

WORKSPACE_TSV=$CI_LOG_DIR/workspace.tsv

discover_workspace() {
    cargo metadata --no-deps --format-version 1 | python3 ci/workspace.py >"$WORKSPACE_TSV.new" &&
        mv "$WORKSPACE_TSV.new" "$WORKSPACE_TSV" &&
        cat "$WORKSPACE_TSV"
}
export -f discover_workspace
export WORKSPACE_TSV

# Columns of workspace.tsv: 1 name, 2 dir, 3 features, 4 target kinds, 5 rust-version, 6 host|firmware.
package_field() {
    awk -F'\t' -v name="$1" -v column="$2" '$1 == name { print $column }' "$WORKSPACE_TSV" 2>/dev/null
}
package_exists() {
    [[ -n $(package_field "$1" 1) ]]
}
package_has_feature() {
    [[ ,$(package_field "$1" 3), == *",$2,"* ]]
}
packages_where() {
    awk -F'\t' -v column="$1" -v pattern="$2" '$column ~ pattern { print $1 }' "$WORKSPACE_TSV" 2>/dev/null
}
# Prints the comma-separated subset of the given features that the package declares.
declared_features() {
    local package=$1 feature declared=()
    shift
    for feature in "$@"; do
        package_has_feature "$package" "$feature" && declared+=("$feature")
    done
    local IFS=,
    echo "${declared[*]}"
}

# ---------------------------------------------------------------- install
gate install:components 600 bash ci/install.sh components
gate install:targets 600 bash ci/install.sh targets
gate install:nightly-miri 1200 bash ci/install.sh nightly
gate install:redis 600 bash ci/install.sh redis

# ---------------------------------------------------------------- discovery
rm -f "$WORKSPACE_TSV"
# Always runs, whatever the selection: the gates below are built from its answer.
CI_SELECT="" gate workspace 300 discover_workspace

mapfile -t host_packages < <(packages_where 6 '^(host|both)$')
mapfile -t firmware_packages < <(packages_where 6 '^(firmware|both)$')
mapfile -t mcu_only_packages < <(packages_where 6 '^firmware$')
mapfile -t bench_packages < <(packages_where 4 '(^|,)bench(,|$)')
msrv=$(package_field "$FACADE" 5)
[[ $msrv == - ]] && msrv=""
# Packages that cannot compile for the host are linted and built for their target only.
firmware_excludes=()
for package in "${mcu_only_packages[@]}"; do
    firmware_excludes+=(--exclude "$package")
done

if [[ -n $msrv ]]; then
    gate install:msrv-toolchain 600 bash ci/install.sh msrv "$msrv"
else
    skip install:msrv-toolchain "the workspace declares no rust-version"
fi

# ---------------------------------------------------------------- style and lints
gate fmt 300 cargo fmt --all --check
gate clippy 1800 cargo clippy --keep-going --workspace "${firmware_excludes[@]}" --all-targets --all-features -- -D warnings
for package in "${firmware_packages[@]}"; do
    gate "clippy:$package" 900 cargo clippy -p "$package" --target "$FIRMWARE_TARGET" -- -D warnings
done
gate doc 1200 env RUSTDOCFLAGS="-D warnings" cargo doc --keep-going --no-deps --all-features --workspace "${firmware_excludes[@]}"

# ---------------------------------------------------------------- release (ci/README.md, "Releasing")
# The crates.io packages (no `publish = false`), found by ci/published.py: packaged and verified
# in dependency order, documented as docs.rs will (nightly from install:nightly-miri), and their
# public API compared with ci/public-api/.
gate install:public-api 1200 bash ci/semver.sh install
gate release:package 1800 bash ci/package.sh
gate release:docs.rs 1200 bash ci/docsrs.sh
gate release:public-api 1200 bash ci/semver.sh
# ---------------------------------------------------------------- end of release

# ---------------------------------------------------------------- tests
# One package per cargo invocation: embassy-time links one time driver per binary, and a
# workspace-wide run would unify the mock driver of one crate's tests with another's std driver.
for package in "${host_packages[@]}"; do
    gate "test:$package" 900 cargo test -p "$package" --all-features
done
if package_exists "$FACADE"; then
    for runtime in "${FACADE_RUNTIMES[@]}"; do
        if package_has_feature "$FACADE" "$runtime"; then
            gate "test:${FACADE}[$runtime]" 900 cargo test -p "$FACADE" --no-default-features --features "$runtime"
        else
            skip "test:${FACADE}[$runtime]" "$FACADE has no feature '$runtime' yet"
        fi
    done
else
    skip "test:${FACADE}[runtimes]" "package $FACADE not in the workspace"
fi
if [[ -f examples/demo.rs ]] && package_has_feature "$FACADE" tokio; then
    gate demo 600 "${DEMO_COMMAND[@]}"
else
    skip demo "examples/demo.rs or the '$FACADE' feature 'tokio' is missing"
fi

# ---------------------------------------------------------------- no_std builds
for package in "${NO_STD_CRATES[@]}"; do
    for target in "${NO_STD_TARGETS[@]}"; do
        if ! package_exists "$package"; then
            skip "no-std:$package:$target" "package $package not in the workspace"
            continue
        fi
        feature_args=(--no-default-features)
        if [[ $target == "$NO_CAS_TARGET" ]]; then
            features=$(declared_features "$package" "${NO_CAS_FEATURES[@]}")
            [[ -n $features ]] && feature_args+=(--features "$features")
        fi
        gate "no-std:$package:$target" 900 cargo build -p "$package" --target "$target" "${feature_args[@]}"
        gate "no-std-tree:$package:$target" 300 bash ci/no-std-tree.sh "$package" "$target" "${feature_args[@]}"
    done
done
if ((${#firmware_packages[@]} == 0)); then
    skip "firmware:$FIRMWARE_TARGET" "no workspace package depends on a bare-metal runtime (cortex-m-rt, ...) yet"
fi
for package in "${firmware_packages[@]}"; do
    gate "firmware:$package:$FIRMWARE_TARGET" 1200 cargo build -p "$package" --target "$FIRMWARE_TARGET"
    gate "no-std-tree:$package:$FIRMWARE_TARGET" 300 bash ci/no-std-tree.sh "$package" "$FIRMWARE_TARGET"
done

# ---------------------------------------------------------------- firmware on emulated MCUs
# Every firmware package, for each board's target: linted and its dependency tree checked for
# std with every feature on; run under QEMU on that board by its <dir>/qemu-run.sh (which builds
# it, runs it with a timeout and checks its report), also as a defmt build whose decoded log must
# give the same report; held to its size budget (ci/size-budget.tsv). No QEMU or defmt-print is a
# failure here, never a skip: the install gates install them.
QEMU_TARGETS=(thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf)
if ((${#firmware_packages[@]} > 0)); then
    gate install:qemu 900 bash ci/install.sh qemu
    gate install:defmt-print 1200 bash ci/install.sh defmt-print
fi
for package in "${firmware_packages[@]}"; do
    qemu_run="$(package_field "$package" 2)/qemu-run.sh"
    for target in "${QEMU_TARGETS[@]}"; do
        # With every feature: the boards' code is in every build, and what only the default
        # build has (the report kept in RAM) is the same on every board, linted by
        # clippy:<package> above.
        gate "clippy:$package:$target" 900 cargo clippy -p "$package" --target "$target" --all-features -- -D warnings
        gate "no-std-tree:$package:$target:all-features" 300 bash ci/no-std-tree.sh "$package" "$target" --all-features
        gate "qemu:$package:$target" 900 bash "$qemu_run" "$target"
        if package_has_feature "$package" defmt; then
            gate "qemu-defmt:$package:$target" 900 env QEMU_FEATURES=defmt bash "$qemu_run" "$target"
        else
            skip "qemu-defmt:$package:$target" "$package has no feature 'defmt'"
        fi
        gate "size:$package:$target" 900 bash ci/size.sh "$package" "$target"
    done
done

# ---------------------------------------------------------------- benches
if ((${#bench_packages[@]} == 0)); then
    skip bench-build "no workspace package has a bench target yet"
fi
for package in "${bench_packages[@]}"; do
    gate "bench-build:$package" 1800 cargo bench --no-run -p "$package"
done

# ---------------------------------------------------------------- miri and loom
if package_exists readthrough-core; then
    gate miri 2400 cargo +nightly miri test -p readthrough-core
else
    skip miri "package readthrough-core not in the workspace"
fi
if [[ -f $LOOM_TEST ]]; then
    # A target dir of its own: --cfg loom changes every crate's flags and would otherwise
    # throw away the normal build cache.
    gate loom 1800 env RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR="$TARGET_DIR/loom" \
        cargo test -p readthrough-core --release --test loom
else
    skip loom "$LOOM_TEST does not exist yet"
fi

# ---------------------------------------------------------------- fuzz (issue 10; see ci/fuzz.sh)
# Nightly libFuzzer run of the core's operation sequences with panicking user types; its own
# workspace and target dir (fuzz/), so it shares no build with the gates above.
FUZZ_TARGET_SOURCE=fuzz/fuzz_targets/operations.rs
FUZZ_SECONDS=${FUZZ_SECONDS:-120}
if [[ -f $FUZZ_TARGET_SOURCE ]]; then
    gate fuzz 900 bash ci/fuzz.sh "$FUZZ_SECONDS"
else
    skip fuzz "$FUZZ_TARGET_SOURCE does not exist yet"
fi
# ---------------------------------------------------------------- end of fuzz

# ---------------------------------------------------------------- MSRV
if [[ -n $msrv ]]; then
    gate "msrv:$msrv" 1200 cargo "+$msrv" check -p readthrough-core -p "$FACADE" --all-features
else
    skip msrv "the workspace declares no rust-version"
fi

ci_summary
