#!/usr/bin/env bash
# The public API of every crates.io package, listed by cargo-public-api (from nightly rustdoc's
# JSON, with the package's docs.rs features) and compared with the listing committed in
# ci/public-api/<package>.txt. Any difference fails: removed or changed lines break users of a
# release, added lines become promises; either way the change must be made on purpose, by
# updating the listing in the same commit:
#   bash ci/semver.sh            compare (CI)
#   bash ci/semver.sh --bless    rewrite ci/public-api/*.txt from the current code; commit them
#   bash ci/semver.sh install    install the pinned cargo-public-api (about 3 min, once a machine)
# No release is tagged yet, so the committed listing is the baseline; after 0.1.0 is published
# it stays one (each release's listing is in its tag), and cargo-semver-checks can be added on top.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned: each release reads a range of rustdoc JSON format versions, and its rendering of an
# item is the baseline's text. 0.52.0 reads the JSON of the nightly ci/install.sh installs.
PUBLIC_API_VERSION=0.52.0

if [[ ${1:-} == install ]]; then
    if [[ $(cargo public-api --version 2>/dev/null) == *" $PUBLIC_API_VERSION"* ]]; then
        echo "cargo-public-api $PUBLIC_API_VERSION present"
        exit 0
    fi
    exec cargo install cargo-public-api --version "$PUBLIC_API_VERSION" --locked
fi

bless=false
[[ ${1:-} == --bless ]] && bless=true
baseline_dir=ci/public-api
# Nightly builds go to a target dir of their own, or they would evict the stable cache; shared
# with ci/docsrs.sh, which checks the same dependencies with the same nightly.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/nightly-doc
command -v cargo-public-api >/dev/null || {
    echo "cargo-public-api is missing: bash ci/semver.sh install" >&2
    exit 2
}

mkdir -p "$baseline_dir"
current=$(mktemp -d)
trap 'rm -rf "$current"' EXIT
mapfile -t packages < <(cargo metadata --no-deps --format-version 1 | python3 ci/published.py)
changed=()
for line in "${packages[@]}"; do
    IFS=$'\t' read -r name _dir _version _license flags <<<"$line"
    # shellcheck disable=SC2086 # flags is a list of words from ci/published.py
    # -s leaves out blanket impls (`impl<T> From<T> for T`, ...): they follow from the items
    # listed and change with the standard library, not with this code. Auto traits (Send, Sync)
    # and derived impls stay: losing one breaks users.
    cargo public-api --color never -s -p "$name" $flags >"$current/$name.txt"
    if $bless; then
        cp "$current/$name.txt" "$baseline_dir/$name.txt"
        echo "$name: $(wc -l <"$baseline_dir/$name.txt") items -> $baseline_dir/$name.txt"
    elif [[ ! -f $baseline_dir/$name.txt ]]; then
        echo "--- $name: no $baseline_dir/$name.txt (a new package?)"
        changed+=("$name")
    elif ! diff -u --label "$baseline_dir/$name.txt (committed)" --label "$name (this tree)" \
        "$baseline_dir/$name.txt" "$current/$name.txt"; then
        changed+=("$name")
    else
        echo "$name: public API unchanged ($(wc -l <"$current/$name.txt") items)"
    fi
done
if $bless; then
    # A package that left the workspace or stopped being published leaves no stale listing.
    for listing in "$baseline_dir"/*.txt; do
        name=$(basename "$listing" .txt)
        [[ -f $current/$name.txt ]] || rm -v "$listing"
    done
    exit 0
fi
if ((${#changed[@]} > 0)); then
    cat >&2 <<MSG
FAIL: the public API of ${changed[*]} differs from $baseline_dir/ (diff above: - removed, + added).
If the change is meant: note it in CHANGELOG.md, run 'bash ci/semver.sh --bless' and commit
$baseline_dir/. Removed or changed items after a release need a new major (0.x: minor) version.
MSG
    exit 1
fi
