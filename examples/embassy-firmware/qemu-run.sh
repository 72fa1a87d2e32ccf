#!/usr/bin/env bash
# Builds the firmware for thumbv7em-none-eabihf with its report on semihosting, runs it on QEMU's
# mps2-an386 board (a Cortex-M4 with FPU; our SysTick driver runs at its 25 MHz clock) and fails
# unless the report shows coalesced reads and nothing left in flight.
#   bash examples/embassy-firmware/qemu-run.sh      (needs qemu-system-arm: apt-get install qemu-system-arm)
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v qemu-system-arm >/dev/null; then
    echo "qemu-system-arm is not installed (apt-get install qemu-system-arm)" >&2
    exit 2
fi
cargo build -p readthrough-example-embassy --target thumbv7em-none-eabihf --features semihosting
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
elf="$target_dir/thumbv7em-none-eabihf/debug/readthrough-example-embassy"
ls -l "$elf"

report=$(timeout 120 qemu-system-arm -M mps2-an386 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf")
echo "$report"

expect_count() {
    local pattern=$1 wanted=$2 found
    found=$(grep -c -- "$pattern" <<<"$report" || true)
    if [[ $found != "$wanted" ]]; then
        echo "qemu-run: expected $wanted line(s) matching '$pattern', found $found" >&2
        exit 1
    fi
}
expect_count "^  sensor 1: miss$" 1
expect_count "^  sensor 1: lock_hit$" 3
expect_count "^  sensor 1: hit " 1
expect_count "^  sensor 1: expired .*sensor reads: 1$" 1
expect_count "^  sensor 9: error: load failed: no sensor answers at id 9$" 2
expect_count "readers done in .* ms; sensor reads: 1$" 2
expect_count "^loads in flight: 0, cached records: 1," 1
echo "qemu-run: the firmware's report on mps2-an386 is as expected"
