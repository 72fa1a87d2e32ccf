#!/usr/bin/env bash
# Builds each crates.io package's documentation the way docs.rs will: nightly rustdoc with
# `--cfg docsrs` (which turns on `doc_cfg`, so feature-gated items carry their badge), the
# features of its `[package.metadata.docs.rs]`, one package per build as docs.rs does (features
# unify differently in a workspace-wide build), warnings denied. Then checks that the facade's
# runtime modules are there with their feature badges.
#   bash ci/docsrs.sh            every published package (list: ci/published.py)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Nightly builds go to a target dir of their own, or they would evict the stable cache; shared
# with ci/semver.sh, whose rustdoc JSON needs the same nightly checks of the same dependencies.
target_dir=${CARGO_TARGET_DIR:-target}/nightly-doc
export RUSTDOCFLAGS="--cfg docsrs -D warnings"

mapfile -t packages < <(cargo metadata --no-deps --format-version 1 | python3 ci/published.py)
for line in "${packages[@]}"; do
    IFS=$'\t' read -r name _dir _version _license flags <<<"$line"
    # shellcheck disable=SC2086 # flags is a list of words from ci/published.py
    echo "--- $name: cargo +nightly doc --no-deps -p $name $flags"
    # shellcheck disable=SC2086
    CARGO_TARGET_DIR=$target_dir cargo +nightly doc --no-deps -p "$name" $flags
done

# What a reader of docs.rs must see on the facade's front page: each runtime module, marked with
# the feature that enables it.
index=$target_dir/doc/readthrough/index.html
if [[ -f $index ]]; then
    missing=0
    for feature in tokio smol embassy pingora; do
        if ! grep -qF "title=\"Available on crate feature \`$feature\` only\"" "$index"; then
            echo "FAIL: $index lacks the module '$feature' with its feature badge" >&2
            missing=1
        fi
    done
    ((missing == 0)) && echo "facade: tokio, smol, embassy, pingora documented with feature badges"
    exit "$missing"
fi
