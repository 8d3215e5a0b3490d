# PASS/FAIL counting for the interop and deploy shell tests (sourced,
# bash): a line per check, the count as the last line, and the skips
# (exit 77) for what a host lacks.

PASSED=0
FAILED=0

pass() {
    PASSED=$((PASSED + 1))
    echo "PASS $*"
}

fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL $*"
}

# The last line is the count, alone; true if nothing failed.
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# Stop here: the script's cleanup first, then where its logs ($TMP) are
# kept if something failed, then the count, which stays the last line.
end() {
    cleanup
    [ "$FAILED" -ne 0 ] && echo "logs kept in $TMP"
    finish
    exit $?
}

need_erl() {
    if ! command -v erl >/dev/null 2>&1 || ! command -v erlc >/dev/null 2>&1; then
        echo "erl not installed: skipped"
        exit 77
    fi
}
