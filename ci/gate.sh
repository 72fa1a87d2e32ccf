# shellcheck shell=bash
# Gate runner for ci/test.sh (sourced, not run).
#
# gate NAME TIMEOUT_SECONDS COMMAND...   runs COMMAND with its output in a log file,
#                                        prints one line: result, name, seconds
# skip NAME REASON                       records a gate that cannot run yet
# ci_summary                             prints the table and the closing line;
#                                        returns 1 when any gate failed
#
# COMMAND may be a shell function if it was exported with `export -f`.
# Gates are filtered by CI_SELECT (space-separated name prefixes; empty = all).

CI_LOG_DIR=${CI_LOG_DIR:-target/ci-logs}
CI_SELECT=${CI_SELECT:-}
CI_EXCERPT_LINES=${CI_EXCERPT_LINES:-150}
mkdir -p "$CI_LOG_DIR"

ci_names=()
ci_results=()
ci_seconds=()
ci_notes=()
ci_tests_passed=0
ci_tests_failed=0
ci_tests_ignored=0
ci_started_at=$EPOCHREALTIME

ci_selected() {
    local name=$1 prefix
    [[ -z $CI_SELECT ]] && return 0
    for prefix in $CI_SELECT; do
        [[ $name == "$prefix"* ]] && return 0
    done
    return 1
}

ci_record() {
    local name=$1 result=$2 seconds=$3 note=$4
    ci_names+=("$name")
    ci_results+=("$result")
    ci_seconds+=("$seconds")
    ci_notes+=("$note")
    printf '[gate] %-4s %-62s %7ss  %s\n' "$result" "$name" "$seconds" "$note"
}

ci_elapsed_since() {
    local start=$1
    awk -v start="$start" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.1f", now - start }'
}

# Sums libtest's "test result:" lines of a log into "N passed, M failed, K ignored".
ci_count_tests() {
    local log=$1
    awk '
        /^test result: / {
            for (i = 1; i <= NF; i++) {
                if ($(i + 1) ~ /^passed/) passed += $i
                if ($(i + 1) ~ /^failed/) failed += $i
                if ($(i + 1) ~ /^ignored/) ignored += $i
            }
            seen = 1
        }
        END { if (seen) printf "%d %d %d\n", passed, failed, ignored }
    ' "$log"
}

ci_print_excerpt() {
    local log=$1 lines
    lines=$(wc -l <"$log")
    echo "----- $log ($lines lines) -----"
    if ((lines <= 2 * CI_EXCERPT_LINES)); then
        cat "$log"
    else
        head -n "$CI_EXCERPT_LINES" "$log"
        echo "[... $((lines - 2 * CI_EXCERPT_LINES)) lines omitted; full log in $log ...]"
        tail -n "$CI_EXCERPT_LINES" "$log"
    fi
    echo "----- end of $log -----"
}

gate() {
    local name=$1 limit=$2
    shift 2
    ci_selected "$name" || return 0
    local log="$CI_LOG_DIR/${name//[^A-Za-z0-9._-]/_}.log"
    local start=$EPOCHREALTIME status note=""
    {
        echo "\$ $*"
        if declare -F "$1" >/dev/null; then
            timeout -k 30 "$limit" bash -c '"$@"' bash "$@"
        else
            timeout -k 30 "$limit" "$@"
        fi
    } >"$log" 2>&1 </dev/null
    status=$?
    local seconds
    seconds=$(ci_elapsed_since "$start")
    local counts
    counts=$(ci_count_tests "$log")
    if [[ -n $counts ]]; then
        local passed failed ignored
        read -r passed failed ignored <<<"$counts"
        ci_tests_passed=$((ci_tests_passed + passed))
        ci_tests_failed=$((ci_tests_failed + failed))
        ci_tests_ignored=$((ci_tests_ignored + ignored))
        note="tests: $passed passed, $failed failed, $ignored ignored"
    fi
    if ((status == 0)); then
        ci_record "$name" PASS "$seconds" "$note"
        return 0
    fi
    if ((status == 124 || status == 137)); then
        note="timed out after ${limit}s${note:+; $note}"
    else
        note="exit $status${note:+; $note}"
    fi
    ci_print_excerpt "$log"
    ci_record "$name" FAIL "$seconds" "$note"
    return 1
}

skip() {
    local name=$1 reason=$2
    ci_selected "$name" || return 0
    ci_record "$name" SKIP 0.0 "$reason"
}

ci_summary() {
    local passed=0 failed=0 skipped=0 i
    echo
    echo "================================ ci summary ================================"
    printf '%-4s  %-62s %8s  %s\n' result gate seconds note
    for i in "${!ci_names[@]}"; do
        printf '%-4s  %-62s %7ss  %s\n' "${ci_results[i]}" "${ci_names[i]}" "${ci_seconds[i]}" "${ci_notes[i]}"
        case ${ci_results[i]} in
            PASS) passed=$((passed + 1)) ;;
            FAIL) failed=$((failed + 1)) ;;
            SKIP) skipped=$((skipped + 1)) ;;
        esac
    done
    echo "============================================================================"
    echo "cargo tests over all gates: $ci_tests_passed passed, $ci_tests_failed failed, $ci_tests_ignored ignored"
    echo "total time: $(ci_elapsed_since "$ci_started_at")s; logs in $CI_LOG_DIR/"
    echo "ci: $passed passed, $failed failed, $skipped skipped"
    ((failed == 0 && passed > 0))
}
