#!/usr/bin/env bash
# Fails when a no_std build enables a `std` (or `use_std`) feature of any crate in its tree.
#   bash ci/no-std-tree.sh PACKAGE TARGET [FEATURE ARGS...]   e.g. --no-default-features --features a,b
# Reads each package's enabled features from `cargo tree --format {f}` (the `-e features` view
# hides features that the root package's own features turn on). Dev- and build-dependencies are
# left out on purpose: they run on the host, where std is fine; so are proc-macros and their deps.
set -uo pipefail

package=${1:?package}
target=${2:?target}
shift 2
feature_args=("$@")

tree=$(cargo tree -p "$package" --target "$target" -e normal,no-proc-macro --prefix none --format '{p}|{f}' "${feature_args[@]}" | sort -u) ||
    exit
offending=$(awk -F'|' '("," $2 ",") ~ /,(std|use_std),/' <<<"$tree")
if [[ -n $offending ]]; then
    echo "$package for $target (${feature_args[*]:-default features}) enables std in (package|enabled features):"
    echo "$offending"
    echo
    echo "who turns it on: cargo tree -p $package --target $target -e features -i <crate> ${feature_args[*]}"
    exit 1
fi
echo "$package for $target (${feature_args[*]:-default features}): none of $(wc -l <<<"$tree") packages enables std"
