#!/usr/bin/env bash
# The firmware's size budget: builds PACKAGE's release image for TARGET with its default features
# (what a board would be flashed with) and fails when its flash (text + data) or RAM (data + bss)
# is more than 10% over the figure committed in ci/size-budget.tsv. Sizes come from
# ci/elf-size.py (section headers; no binutils needed).
#   bash ci/size.sh PACKAGE TARGET            check
#   bash ci/size.sh PACKAGE TARGET --update   write the measured figures into the budget (a
#                                             deliberate commit, with the README's table)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

package=${1:?usage: ci/size.sh PACKAGE TARGET [--update]}
target=${2:?usage: ci/size.sh PACKAGE TARGET [--update]}
mode=${3:-check}
BUDGET=ci/size-budget.tsv
ALLOWED_GROWTH_PERCENT=10

cargo build -p "$package" --release --target "$target"
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
image="$target_dir/$target/release/$package"
measured=$(python3 ci/elf-size.py "$image")
echo "$image: $measured"
flash=$(sed -n 's/.*flash=\([0-9]*\).*/\1/p' <<<"$measured")
ram=$(sed -n 's/.*ram=\([0-9]*\).*/\1/p' <<<"$measured")

if [[ $mode == --update ]]; then
    python3 - "$BUDGET" "$package" "$target" "$flash" "$ram" <<'PY'
import sys
path, package, target, flash, ram = sys.argv[1:]
with open(path) as file:
    lines = file.read().splitlines()
row = f"{package}\t{target}\t{flash}\t{ram}"
keys = [line.split("\t")[:2] for line in lines]
if [package, target] in keys:
    lines[keys.index([package, target])] = row
else:
    lines.append(row)
with open(path, "w") as file:
    file.write("\n".join(lines) + "\n")
PY
    echo "size: $BUDGET now holds $package $target flash=$flash ram=$ram"
    exit 0
fi

row=$(awk -F'\t' -v package="$package" -v target="$target" \
    '$1 == package && $2 == target { print $3, $4 }' "$BUDGET")
if [[ -z $row ]]; then
    echo "size: $BUDGET has no budget for $package on $target (add it: bash ci/size.sh $package $target --update)" >&2
    exit 1
fi
read -r flash_budget ram_budget <<<"$row"
status=0
check() {
    local what=$1 now=$2 budget=$3
    local percent=$(((now * 100 + budget / 2) / budget - 100))
    if ((now * 100 > budget * (100 + ALLOWED_GROWTH_PERCENT))); then
        echo "size: $what $now bytes is ${percent}% over the budget of $budget (more than ${ALLOWED_GROWTH_PERCENT}%): shrink it, or raise $BUDGET and the README deliberately" >&2
        status=1
    elif ((now * 100 < budget * (100 - ALLOWED_GROWTH_PERCENT))); then
        echo "size: $what $now bytes is ${percent}% against the budget of $budget: lower the budget (bash ci/size.sh $package $target --update) so growth is caught from there"
    else
        echo "size: $what $now bytes, budget $budget (${percent}%)"
    fi
}
check flash "$flash" "$flash_budget"
check RAM "$ram" "$ram_budget"
exit "$status"
