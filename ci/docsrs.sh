#!/usr/bin/env bash
# Builds each crates.io package's documentation the way docs.rs will: nightly rustdoc with
# `--cfg docsrs` (which turns on `doc_cfg`, so feature-gated items carry their badge), the
# features of its `[package.metadata.docs.rs]`, one package per build as docs.rs does (features
# unify differently in a workspace-wide build), warnings denied. Then checks that each feature
# docs.rs turns on shows as a badge on the crate's front page.
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

# Each feature docs.rs turns on must show in the crate's docs as the badge of what it enables
# (the facade's runtime modules, the core's std-only lock, the Redis tier's cluster and TLS
# methods): a missing badge means the item is missing, or doc_cfg is not on, or the feature
# gates no item and need not be listed.
missing=0
for line in "${packages[@]}"; do
    IFS=$'\t' read -r name _dir _version _license flags <<<"$line"
    [[ $flags =~ --features\ ([^ ]+) ]] || continue
    docs=$target_dir/doc/${name//-/_}
    IFS=, read -ra features <<<"${BASH_REMATCH[1]}"
    for feature in "${features[@]}"; do
        # An item's badge in a module's list carries a title; a method's, in its impl block,
        # is an item-info line.
        if grep -rqE --include='*.html' \
            -e "title=\"Available on crate features? \`$feature\`" \
            -e "Available on <strong>crate features? <code>$feature</code>" "$docs"; then
            echo "$name: items of feature '$feature' carry its badge"
        else
            echo "FAIL: no page of $docs shows the badge of feature '$feature'" \
                "(or drop it from [package.metadata.docs.rs] features if it gates no item)" >&2
            missing=1
        fi
    done
done
exit "$missing"
