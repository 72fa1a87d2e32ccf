#!/usr/bin/env bash
# Builds the firmware (release, report on semihosting) for each bare-metal target, runs it on the
# QEMU board of that target and fails unless the report shows one sensor read for four tasks, a
# hit, a reload after the TTL, one failed read shared by two tasks, nothing left in flight, and a
# stack that kept above its bottom.
# The defmt build (QEMU_FEATURES=defmt) also turns on the cache's own defmt events, at
# DEFMT_LOG=readthrough_core=info unless DEFMT_LOG is set, and fails unless the sensor's failed
# read appears as exactly one `readthrough: load failed` event in the decoded log (the text build
# has no such line).
# A run that does not end within QEMU_TIMEOUT seconds (default 60; a run takes about 1 s) fails.
#   bash examples/embassy-firmware/qemu-run.sh                 all three targets
#   bash examples/embassy-firmware/qemu-run.sh TARGET...       some of them
#   QEMU_FEATURES=defmt bash examples/embassy-firmware/qemu-run.sh ...   extra cargo features
# Needs qemu-system-arm and qemu-system-misc (Debian: `bash ci/install.sh qemu`).
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGE=readthrough-example-embassy
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60}
ALL_TARGETS=(thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf)

# The QEMU command line that boots an image for TARGET (the board src/board/ picks for it).
# -icount ties the emulated clock to instructions executed (shift=6: 64 ns each, a 15.6 MHz core
# like an nRF51's) instead of the host's clock, so a loaded CI machine cannot make a 100 ms read
# outlast the 500 ms TTL; sleep=off jumps over the time the core sleeps in WFI.
qemu_command() {
    local target=$1 common=(-nographic -icount shift=6,sleep=off -semihosting-config enable=on,target=native)
    case $target in
        thumbv7em-none-eabihf) echo qemu-system-arm -M mps2-an386 "${common[@]}" ;;
        thumbv6m-none-eabi) echo qemu-system-arm -M microbit "${common[@]}" ;;
        riscv32imac-unknown-none-elf) echo qemu-system-riscv32 -M virt -bios none "${common[@]}" ;;
        *)
            echo "qemu-run: no QEMU board for target $target" >&2
            return 2
            ;;
    esac
}

expect_count() {
    local report=$1 pattern=$2 wanted=$3 found
    found=$(grep -c -- "$pattern" <<<"$report" || true)
    if [[ $found != "$wanted" ]]; then
        echo "qemu-run: expected $wanted line(s) matching '$pattern', found $found" >&2
        return 1
    fi
}

check_report() {
    local report=$1 board=$2 events=$3
    expect_count "$report" "^board: $board " 1 &&
        expect_count "$report" "^readthrough: load failed (timed_out: false)$" "$events" &&
        expect_count "$report" "^readthrough: " "$events" &&
        expect_count "$report" "^  sensor 1: miss$" 1 &&
        expect_count "$report" "^  sensor 1: lock_hit$" 3 &&
        expect_count "$report" "^  4 readers done in 10[0-9] ms; sensor reads: 1$" 1 &&
        expect_count "$report" "^  sensor 1: hit .*sensor reads: 0$" 1 &&
        expect_count "$report" "^  sensor 1: expired .*sensor reads: 1$" 1 &&
        expect_count "$report" "^  sensor 9: error: load failed: no sensor answers at id 9$" 2 &&
        expect_count "$report" "^  2 readers done in 10[0-9] ms; sensor reads: 1$" 1 &&
        expect_count "$report" "^32 more records written into 144 bytes:$" 1 &&
        expect_count "$report" "^  16 cached, 144 of 144 bytes, 17 evicted$" 1 &&
        expect_count "$report" "over budget" 0 &&
        expect_count "$report" "^loads in flight: 0, cached records: 16," 1 &&
        expect_count "$report" "^heap: [0-9]* of [0-9]* bytes in use$" 1 &&
        expect_count "$report" "^stack: [0-9]* of [0-9]* bytes used at most$" 1 || return
    # A stack that reached its bottom has overwritten the statics below it.
    local used size
    read -r used size < <(sed -n 's/^stack: \([0-9]*\) of \([0-9]*\) bytes.*/\1 \2/p' <<<"$report")
    if ((used >= size)); then
        echo "qemu-run: the stack ($size bytes) overflowed" >&2
        return 1
    fi
}

run_target() {
    local target=$1 command board
    command=$(qemu_command "$target") || return
    read -r -a command <<<"$command"
    if ! command -v "${command[0]}" >/dev/null; then
        echo "qemu-run: ${command[0]} is not installed (bash ci/install.sh qemu)" >&2
        return 2
    fi
    board=${command[2]}
    local features=semihosting${QEMU_FEATURES:+,$QEMU_FEATURES}
    if [[ ,$features, == *,defmt,* ]] && ! command -v defmt-print >/dev/null; then
        echo "qemu-run: the defmt build's output needs defmt-print (cargo install defmt-print --locked)" >&2
        return 2
    fi
    # The cache's defmt events: one per failed load in this run (sensor 9's, shared by 2 tasks).
    local events=0
    if [[ ,$features, == *,defmt,* ]]; then
        events=1
        export DEFMT_LOG=${DEFMT_LOG:-readthrough_core=info}
    fi
    cargo build -p "$PACKAGE" --release --target "$target" --features "$features" || return
    local target_dir elf
    target_dir=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    elf="$target_dir/$target/release/$PACKAGE"

    echo "\$ timeout $QEMU_TIMEOUT ${command[*]} -kernel $elf"
    local output report status=0 decoded=0 started=$EPOCHREALTIME seconds
    output=$(mktemp)
    timeout "$QEMU_TIMEOUT" "${command[@]}" -kernel "$elf" >"$output" || status=$?
    seconds=$(awk -v start="$started" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.2f", now - start }')
    if [[ ,$features, == *,defmt,* ]]; then
        # The output is defmt frames; their format strings are in the image.
        report=$(defmt-print -e "$elf" --log-format '{s}' <"$output") || decoded=$?
    else
        report=$(<"$output")
    fi
    rm -f "$output"
    echo "$report"
    if ((status == 124)); then
        echo "qemu-run: $target on $board did not finish within ${QEMU_TIMEOUT}s (hung)" >&2
        return 1
    elif ((status != 0)); then
        echo "qemu-run: $target on $board exited with status $status (semihosting exit: failure)" >&2
        return 1
    elif ((decoded != 0)); then
        echo "qemu-run: defmt-print could not decode the output of $target" >&2
        return 1
    fi
    check_report "$report" "$board" "$events" || return
    echo "qemu-run: $target on $board: report as expected, QEMU ran ${seconds}s"
}

targets=("$@")
((${#targets[@]} > 0)) || targets=("${ALL_TARGETS[@]}")
failed=0
for target in "${targets[@]}"; do
    run_target "$target" || failed=1
done
exit "$failed"
