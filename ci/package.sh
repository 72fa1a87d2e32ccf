#!/usr/bin/env bash
# Packages every crates.io package the way `cargo publish` would, in dependency order, each
# built from its .crate file against the .crate files of the packages before it (cargo >= 1.90
# serves unpublished workspace dependencies from a local registry overlay of those packages).
# Fails on a file the package leaves out that its build needs, a dependency with a path but no
# version, a manifest cargo warns about, or a package without its README and license texts.
# Ends with each package's file count and sizes.
#   bash ci/package.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target_dir=${CARGO_TARGET_DIR:-target}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

mapfile -t packages < <(cargo metadata --no-deps --format-version 1 | python3 ci/published.py)
args=()
for line in "${packages[@]}"; do
    args+=(-p "${line%%$'\t'*}")
done
# Cargo extracts the overlay's .crate files under $CARGO_HOME/registry/src/-<hash of the overlay
# path>/ and reuses an extraction that exists: a second run from the same checkout path would
# verify against the sources packaged the first time. Remove those extractions of our packages.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
for line in "${packages[@]}"; do
    IFS=$'\t' read -r name _dir version _rest <<<"$line"
    rm -rf "$cargo_home"/registry/src/-*/"$name-$version"
done
echo "--- cargo package ${args[*]}"
# --allow-dirty: CI packages the checkout it was given; a release is made from a clean tree.
cargo package --allow-dirty "${args[@]}" 2>&1 | tee "$log"
if grep -q '^warning:' "$log"; then
    echo "FAIL: cargo package warned (above); a release must package cleanly" >&2
    exit 1
fi

echo
failed=0
printf '%-24s %6s %12s %12s\n' package files unpacked .crate
for line in "${packages[@]}"; do
    IFS=$'\t' read -r name _dir version license _flags <<<"$line"
    crate=$target_dir/package/$name-$version.crate
    listing=$(tar -tzf "$crate")
    # The license texts the SPDX expression names (MIT and Apache-2.0 both require theirs).
    required=(README.md)
    [[ $license == *MIT* ]] && required+=(LICENSE-MIT)
    [[ $license == *Apache-2.0* ]] && required+=(LICENSE-APACHE)
    for file in "${required[@]}"; do
        if ! grep -qx "$name-$version/$file" <<<"$listing"; then
            echo "FAIL: $crate has no $file" >&2
            failed=1
        fi
    done
    files=$(grep -vc '/$' <<<"$listing")
    unpacked=$(tar -xzOf "$crate" | wc -c)
    printf '%-24s %6s %12s %12s\n' "$name" "$files" "$unpacked" "$(stat -c %s "$crate")"
done
exit "$failed"
