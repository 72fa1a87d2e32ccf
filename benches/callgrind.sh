#!/usr/bin/env bash
# Instructions per readthrough operation, counted by callgrind (repeatable on a busy machine):
# runs the `hit_instructions` example (or $EXAMPLE, with its $MODES) with N1 and N2 operations
# per mode and prints
# (Ir(N2) - Ir(N1)) / (N2 - N1), and the allocations the N2 operations made.
#
#   benches/callgrind.sh                 # in this checkout
#   benches/callgrind.sh /tmp/before     # in another checkout of the workspace (the example
#                                        # file must be present there too)
#   MODES="get load" benches/callgrind.sh # only these modes (see hit_instructions.rs)
#   DEFAULTS=1 benches/callgrind.sh      # caches from `Cache::new` (default hasher, seeded per
#                                        # process: counts may move by a fraction between runs)
#   PARKING_LOT=1 benches/callgrind.sh   # shards behind ParkingLotLock, not the default lock
#   EXAMPLE=tiered_instructions MODES="plain tiered" benches/callgrind.sh   # a tier's cost on a hit
# The binary is taken from CARGO_TARGET_DIR when that is set.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
n1=${N1:-100000}
n2=${N2:-300000}
example=${EXAMPLE:-hit_instructions}
modes=${MODES:-get load load-struct load-direct load-struct-direct load-async-closure-direct load-wrapper miss}
cd "$root"
cargo build --release -q -p readthrough-benches --example "$example"
binary="${CARGO_TARGET_DIR:-$root/target}/release/examples/$example"
extra=()
[[ -n ${DEFAULTS:-} ]] && extra=(defaults)
[[ -n ${PARKING_LOT:-} ]] && extra+=(parking-lot)
out=$(mktemp -d)
instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1.$2" "$binary" "$1" "$2" "${extra[@]}" \
        >"$out/stdout.$1.$2" 2>"$out/stderr.$1.$2"
    grep -m1 '^summary:' "$out/cg.$1.$2" | awk '{print $2}'
}
echo "| mode | Ir per op | allocations per op | N1 | N2 |"
echo "|---|---:|---:|---:|---:|"
for mode in $modes; do
    low=$(instructions "$mode" "$n1")
    high=$(instructions "$mode" "$n2")
    allocations=$(awk '{print $6}' "$out/stdout.$mode.$n2")
    awk -v m="$mode" -v lo="$low" -v hi="$high" -v a="$allocations" -v n1="$n1" -v n2="$n2" \
        'BEGIN { printf "| %s | %.1f | %.2f | %d | %d |\n", m, (hi - lo) / (n2 - n1), a / n2, n1, n2 }'
done
if [[ -f "$out/stdout.load.$n2" ]]; then
    echo
    echo "get_or_load future (closure loader): $(awk '{print $10}' "$out/stdout.load.$n2") bytes"
fi
rm -rf "$out"
