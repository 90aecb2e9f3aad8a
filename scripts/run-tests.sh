#!/usr/bin/env bash
# Runs the (already built) test suite with an upper bound on its time, so a run that hangs fails with a
# diagnosis instead of holding CI until CI's own limit: after SLUICE_TEST_LIMIT seconds (default 900;
# the suite takes 3–8 minutes) the stack of every thread of the test process is printed (with gdb, when
# installed) and the run is stopped, failing. A failing run ends by repeating what failed (the lines of
# failed tests and their issues), so the end of a long log names them. Arguments go to `swift test`.
set -uo pipefail
cd "$(dirname "$0")/.."
limit=${SLUICE_TEST_LIMIT:-900}
log=$(mktemp)

swift test --skip-build "$@" > >(tee "$log") 2>&1 &
runner=$!
trap 'kill "$runner" 2>/dev/null' INT TERM

stacks() {
    local pid
    for pid in $(pgrep -f 'PackageTests\.xctest' || true); do
        echo "--- threads of $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-200) (pid $pid)"
        if command -v gdb >/dev/null; then
            timeout 120 gdb -p "$pid" -batch -ex 'thread apply all bt 30' 2>/dev/null \
                | grep -E '^(Thread|#)' | swift demangle --simplified
        else
            echo "(gdb is not installed: no stacks)"
        fi
    done
}

finished=$(mktemp -u)
(
    sleep "$limit" </dev/null >/dev/null 2>&1 &
    wait $!  # (a sleep in the background: ending it early prints nothing)
    # Woken because the suite ended (or its runner is gone): nothing to do.
    if [ -e "$finished" ] || ! kill -0 "$runner" 2>/dev/null; then exit 0; fi
    echo "run-tests: the suite did not finish within ${limit} s (a hang); the stacks of its threads follow" >&2
    stacks >&2
    pkill -TERM -f 'PackageTests\.xctest'
    kill "$runner" 2>/dev/null
    sleep 10
    pkill -KILL -f 'PackageTests\.xctest'
) &
watchdog=$!

wait "$runner"
status=$?
touch "$finished"
pkill -P "$watchdog" sleep 2>/dev/null || true
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
rm -f "$finished"
if [ "$status" -ne 0 ]; then
    echo "run-tests: the suite failed (exit $status); what failed, repeated from above:"
    grep -aE '✘|↳|recorded an issue|error: |Fatal error|hostile input: seed' "$log" | cut -c1-600 | tail -n 80
fi
rm -f "$log"
exit "$status"
